module.exports = require('../../tools/webpack/nest-app')('payments');
