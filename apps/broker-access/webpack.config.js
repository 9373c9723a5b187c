// Build tooling shared by the four apps, not a library of the workspace.
// eslint-disable-next-line @nx/enforce-module-boundaries
module.exports = require('../../tools/webpack/nest-app')('broker-access');
