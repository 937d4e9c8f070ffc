/**
 * Modules that register task handlers (by calling `registerHandler` when imported). `june worker` and
 * `startWorkers({ loadHandlers: true })` import them all before claiming work, so a standalone worker
 * knows the same task kinds as `june start`. Add one line per module.
 */
export const handlerModules: Array<() => Promise<unknown>> = [() => import('../channels/worker-handlers.js')];

export async function loadHandlerModules(): Promise<void> {
  for (const load of handlerModules) await load();
}
