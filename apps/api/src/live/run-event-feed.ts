import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { RunEvent } from '@tfleet/contracts';

/**
 * Run events as the API applies them, in process: the run-events processor reports each event
 * once its transaction is written, so a live stream that reads the row sees what it wrote.
 */
@Injectable()
export class RunEventFeed {
  private readonly subject = new Subject<RunEvent>();
  readonly applied$: Observable<RunEvent> = this.subject.asObservable();

  applied(event: RunEvent): void {
    this.subject.next(event);
  }
}
