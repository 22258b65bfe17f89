import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';

const sent: string[] = [];
let bodies: string[][] = [];

vi.mock('../api/client.js', () => ({
  send: vi.fn(async (_method: string, path: string) => {
    sent.push(path);
    const chunks = bodies.shift() ?? [];
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(enc.encode(ch));
        c.close();
      },
    });
    return { ok: true, status: 200, body: stream } as unknown as Response;
  }),
}));

const { LogViewer } = await import('./log-viewer.js');

const line = (ts: string, message: string, stream = 'stdout') =>
  `data: ${JSON.stringify({ source: 'cmd', timestamp: ts, message, line: message, stream })}\n\n`;

afterEach(() => {
  cleanup();
  sent.length = 0;
  bodies = [];
});

describe('LogViewer', () => {
  it('shows the lines of a stream that ends by design, then says it ended', async () => {
    bodies = [[': ping\n\n', line('2026-01-01T00:00:00Z', 'Preparing the workspace'), line('2026-01-01T00:00:01Z', 'Boot complete')]];
    render(<LogViewer path="/workspace/ws_1/logs/stream/boot" live follows={false} label="Boot log output" endedText="End of the boot log." />);
    const log = screen.getByRole('log', { name: 'Boot log output' });
    await waitFor(() => expect(log.textContent).toContain('Boot complete'));
    expect(log.textContent).toContain('Preparing the workspace');
    await waitFor(() => expect(screen.getByRole('status').textContent).toContain('End of the boot log.'));
    expect(sent).toEqual(['/workspace/ws_1/logs/stream/boot']);
  });

  it('reconnects a following stream that drops while the workspace runs, without repeating lines', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      bodies = [
        [line('2026-01-01T00:00:00Z', 'CMD-MARK'), line('2026-01-01T00:00:01Z', 'beat 1')],
        [line('2026-01-01T00:00:00Z', 'CMD-MARK'), line('2026-01-01T00:00:01Z', 'beat 1'), line('2026-01-01T00:00:02Z', 'beat 2', 'stderr')],
      ];
      render(<LogViewer path="/workspace/ws_1/logs/stream/cmd" live follows label="Command log output" />);
      const log = screen.getByRole('log', { name: 'Command log output' });
      await waitFor(() => expect(log.textContent).toContain('beat 1'));
      await vi.advanceTimersByTimeAsync(1500);
      await waitFor(() => expect(log.textContent).toContain('beat 2'));
      expect(sent.length).toBeGreaterThanOrEqual(2);
      const texts = [...log.querySelectorAll('.log-line .text')].map((e) => e.textContent);
      expect(texts).toEqual(['CMD-MARK', 'beat 1', 'beat 2']);
      expect(log.querySelector('.log-line.stderr')?.textContent).toContain('beat 2');
    } finally {
      vi.useRealTimers();
    }
  });

  it('waits without connecting while the workspace is not running; Clear view and Pause work', async () => {
    const { rerender } = render(<LogViewer path="/workspace/ws_1/logs/stream/cmd" live={false} follows label="Command log output" />);
    expect(screen.getByRole('log').textContent).toMatch(/not running/);
    expect(sent).toEqual([]);

    bodies = [[line('2026-01-01T00:00:00Z', 'hello')]];
    rerender(<LogViewer path="/workspace/ws_1/logs/stream/cmd" live follows label="Command log output" />);
    await waitFor(() => expect(screen.getByRole('log').textContent).toContain('hello'));

    const pause = screen.getByRole('button', { name: 'Pause autoscroll' });
    expect(pause.getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(pause);
    expect(screen.getByRole('button', { name: 'Follow' }).getAttribute('aria-pressed')).toBe('false');

    fireEvent.click(screen.getByRole('button', { name: 'Clear view' }));
    await waitFor(() => expect(screen.getByRole('log').textContent).not.toContain('hello'));
  });
});
