module.exports = require('../../tools/webpack/nest-app')('notifications');
