import { Logger, type LogLevel } from '@nestjs/common';
import { type JsonLogLine, TfleetLogger } from './tfleet-logger';

describe('TfleetLogger', () => {
  const capture = (format: 'text' | 'json', base = {}) => {
    const lines: { line: string; level: LogLevel }[] = [];
    const logger = new TfleetLogger(format, base, (line, level) => lines.push({ line, level }));
    return { logger, lines };
  };

  it('writes one JSON object per event with the context, the fields and the base fields', () => {
    const { logger, lines } = capture('json', { workerId: 'w-1' });
    logger.log('attempt started', { experimentId: 'e-1', attempt: 2 }, 'TrainingRunService');
    logger.error('attempt failed', 'Error: x\n    at f (a.js:1:1)', 'TrainingRunService');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!.line) as JsonLogLine;
    expect(first).toMatchObject({ level: 'log', context: 'TrainingRunService', msg: 'attempt started', experimentId: 'e-1', attempt: 2, workerId: 'w-1' });
    expect(Number.isNaN(Date.parse(first.time))).toBe(false);
    const second = JSON.parse(lines[1]!.line) as JsonLogLine;
    expect(second).toMatchObject({ level: 'error', context: 'TrainingRunService', msg: 'attempt failed', workerId: 'w-1' });
    expect(second['stack']).toContain('at f');
  });

  it('is what a Nest Logger instance reaches once installed, fields included', () => {
    const { logger, lines } = capture('json');
    Logger.overrideLogger(logger);
    try {
      new Logger('Ctx').warn('slow', { experimentId: 'e-2', attempt: 1 });
    } finally {
      Logger.overrideLogger(true);
    }
    expect(JSON.parse(lines[0]!.line)).toMatchObject({ level: 'warn', context: 'Ctx', msg: 'slow', experimentId: 'e-2', attempt: 1 });
  });

  it('writes readable text with the fields appended, not JSON, by default', () => {
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      new TfleetLogger('text').log('attempt started', { experimentId: 'e-3', attempt: 1 }, 'Ctx');
      const written = spy.mock.calls.map((c) => String(c[0])).join('');
      expect(written).toContain('attempt started [experimentId=e-3 attempt=1]');
      expect(written).toContain('Ctx');
      spy.mockClear();
      new TfleetLogger('text').log('experiment e-4 attempt 2: started', { experimentId: 'e-4', attempt: 2 }, 'Ctx');
      const repeated = spy.mock.calls.map((c) => String(c[0])).join('');
      expect(repeated).toContain('experiment e-4 attempt 2: started');
      expect(repeated).not.toContain('experimentId=');
      expect(repeated).not.toContain('attempt=');
      expect(() => JSON.parse(written)).toThrow();
    } finally {
      spy.mockRestore();
    }
  });
});
