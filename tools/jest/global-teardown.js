/**
 * Jest global teardown: stops the containers that global-setup.js started in this process, and
 * unsets the variables it set (a watch-mode re-run then starts fresh ones). Services given through
 * RABBITMQ_URL / DATABASE_URL are left alone. Called once per project in a multi-project run: the
 * first call does the work, the others find nothing left.
 */
const STATE = Symbol.for('@shop/jest-test-services');

module.exports = async function globalTeardown() {
  const state = globalThis[STATE];
  if (!state) return;
  const containers = state.containers.splice(0);
  for (const name of state.setEnv.splice(0)) delete process.env[name];
  state.checked.clear();
  const results = await Promise.allSettled(containers.map((container) => container.stop()));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw new Error(`Could not stop a test container: ${failed.reason && failed.reason.message}`);
};
