import type { ProgressListener, TransferProgress } from '@conduit/client';

/**
 * Progress of sends and receives on stderr: on a terminal one line rewritten in place (bar, bytes,
 * rate, ETA); otherwise a plain line every few seconds, so logs stay readable. Nothing with --json.
 */
const TTY_EVERY_MS = 100;
const PLAIN_EVERY_MS = 5_000;
const BAR_WIDTH = 24;

export interface ProgressDisplay {
  onProgress: ProgressListener;
  /** Ends the rewritten line, if one is showing. */
  end(): void;
}

export function progressDisplay(stream: NodeJS.WriteStream = process.stderr): ProgressDisplay {
  const tty = stream.isTTY === true;
  let started = 0;
  let startBytes = 0;
  let lastDraw = 0;
  let lastPhase = '';
  let showing = false;
  const onProgress: ProgressListener = (p) => {
    const now = Date.now();
    if (p.phase !== lastPhase) {
      // Rates are per phase: verifying a resumed upload is not uploading.
      started = now;
      startBytes = p.bytesDone;
    }
    const phaseChanged = p.phase !== lastPhase;
    lastPhase = p.phase;
    const final = p.bytesDone >= p.bytesTotal;
    if (!phaseChanged && !final && now - lastDraw < (tty ? TTY_EVERY_MS : PLAIN_EVERY_MS)) return;
    lastDraw = now;
    const line = describe(p, now - started, p.bytesDone - startBytes);
    if (tty) {
      stream.write(`\r\x1b[2K${line}`);
      showing = true;
    } else {
      stream.write(`${line}\n`);
    }
  };
  return {
    onProgress,
    end: () => {
      if (showing) stream.write('\n');
      showing = false;
    },
  };
}

export function describe(p: TransferProgress, elapsedMs: number, movedBytes: number): string {
  const fraction = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const rate = elapsedMs > 0 ? (movedBytes * 1000) / elapsedMs : 0;
  const eta = rate > 0 && fraction < 1 ? ` ETA ${duration((p.bytesTotal - p.bytesDone) / rate)}` : '';
  const pct = `${(fraction * 100).toFixed(0).padStart(3)}%`;
  return (
    `${p.phase} ${p.name} ${bar} ${pct} ${bytes(p.bytesDone)}/${bytes(p.bytesTotal)}` +
    (rate > 0 ? ` ${bytes(rate)}/s` : '') +
    eta
  );
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
