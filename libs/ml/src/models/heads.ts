import type { TaskInfo } from '../data/dataset';

/** Width of the model's last layer for a task: classes, vocabulary, or 1 for regression. */
export function outputUnits(info: TaskInfo): number {
  return info.task === 'sequence-regression' ? 1 : info.numClasses;
}
