import { Controller, type MessageEvent, Param, Sse } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Observable } from 'rxjs';
import { LiveStreamsService } from './live-streams.service';

/** Server-sent events; behind the API key like every route (clients send it with fetch, not EventSource). */
@ApiTags('experiments')
@ApiBearerAuth()
@Controller('experiments')
export class LiveController {
  constructor(private readonly streams: LiveStreamsService) {}

  @Sse('events')
  @ApiOperation({ summary: 'Live changes of every experiment (SSE): `experiment` on a status change, `progress` with ETA, `epoch`' })
  list(): Observable<MessageEvent> {
    return this.streams.list();
  }

  @Sse(':id/events')
  @ApiOperation({ summary: 'Live events of one experiment (SSE): `snapshot`, then `progress` (ETA), `epoch`, `experiment` on a status change; ends after a terminal status' })
  experiment(@Param('id') id: string): Promise<Observable<MessageEvent>> {
    return this.streams.experiment(id);
  }
}
