/**
 * Modules that register task handlers (by calling `registerHandler` when imported). `june worker` and
 * `startWorkers({ loadHandlers: true })` import them all before claiming work, so a standalone worker
 * knows the same task kinds as `june start`. Add one line per module.
 */
export const handlerModules: Array<() => Promise<unknown>> = [() => import('../channels/worker-handlers.js')];

export async function loadHandlerModules(): Promise<void> {
  for (const load of handlerModules) await load();
}

/** Lets loaded handler modules free what they hold (models, databases) after the workers drained. */
export async function closeHandlerModules(): Promise<void> {
  for (const load of handlerModules) {
    const mod = (await load()) as { closeWorkerHandlers?: () => Promise<void> };
    await mod.closeWorkerHandlers?.();
  }
}
