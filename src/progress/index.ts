/**
 * Progress of long work (downloads, replays, training) on stderr: a live bar on a terminal,
 * and a line every 10% (or every 5 s) otherwise, so CI logs show it too.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total?: number): void;
  stop(message?: string): void;
}

export function progress(label: string, unit = ''): Progress {
  const tty = Boolean(process.stderr.isTTY);
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% {value}/{total}${unit ? ` ${unit}` : ''}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) {
          bar.start(total ?? 0, done);
          started = true;
        } else {
          if (total !== undefined) bar.setTotal(total);
          bar.update(done);
        }
      },
      stop(message) {
        if (started) bar.stop();
        if (message) process.stderr.write(`${message}\n`);
      },
    };
  }
  let lastTenth = -1;
  let lastAt = 0;
  return {
    update(done, total) {
      const tenth = total ? Math.floor((done / total) * 10) : -1;
      const now = Date.now();
      if (tenth === lastTenth && now - lastAt < 5000) return;
      lastTenth = tenth;
      lastAt = now;
      const pct = total ? ` (${Math.round((done / total) * 100)}%)` : '';
      process.stderr.write(`${label}: ${done}${total ? `/${total}` : ''}${unit ? ` ${unit}` : ''}${pct}\n`);
    },
    stop(message) {
      if (message) process.stderr.write(`${message}\n`);
    },
  };
}
