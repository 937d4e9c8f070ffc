/**
 * For `june start` and `june worker`: the planner's handlers. A worker asked to serve `plan`
 * (JUNE_WORKER_CAPABILITIES includes plan) runs tree roots (`plan.run`), wrapped by the channel layer so a
 * plan asked for in a chat shows its status, its plan for approval and its answer there; a worker that
 * serves `chat` or `code` also runs the plan's chat and code subtasks (`plan.chat`, `plan.code`).
 */
import type { ChannelRuntime } from '../../channels/runtime.js';
import type { JuneConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import {
  createPlanRunHandler,
  PLAN_RUN_CAPABILITY,
  PLAN_RUN_KIND,
  registerPlanSubtaskHandlers,
} from '../../planner/index.js';
import type { HandlerRegistry } from '../../tasks/handlers.js';
import type { TaskQueue } from '../../tasks/types.js';

export async function addPlanCapability(
  handlers: HandlerRegistry,
  o: { config: JuneConfig; logger: Logger; queue: TaskQueue; runtime: Pick<ChannelRuntime, 'wrapPlanRun'> },
): Promise<void> {
  const { config, logger, queue } = o;
  const caps = config.workerCapabilities;
  if (caps.includes(PLAN_RUN_CAPABILITY))
    handlers.register(
      PLAN_RUN_KIND,
      PLAN_RUN_CAPABILITY,
      o.runtime.wrapPlanRun(createPlanRunHandler({ queue, config, logger })),
      // a root waits for its subtasks while holding its slot: the pool keeps a slot free for them
      { waitsForTasks: true },
    );
  if (caps.includes('chat') || caps.includes('code'))
    await registerPlanSubtaskHandlers(handlers, { queue, config, logger });
}
