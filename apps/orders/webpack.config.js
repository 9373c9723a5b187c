module.exports = require('../../tools/webpack/nest-app')('orders');
