module.exports = require('../../tools/webpack/nest-app')('inventory');
