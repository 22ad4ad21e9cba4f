// An exclusive, process-owned lock on a path: a file created with O_EXCL holding our pid.
// A lock left by a dead process (crash, kill -9) is taken over; one held by a live process is
// refused with a message naming it. Single host only, which is all PGlite supports anyway.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

export interface DirLock {
  readonly path: string;
  release(): void;
}

export class DirLockedError extends Error {
  constructor(lockPath: string, pid: number) {
    super(
      `the embedded database is in use by another process (pid ${pid}, lock ${lockPath}); ` +
        'PGlite is single-process: stop that process, use another WAYBILL_DATA_DIR, or set DATABASE_URL',
    );
    this.name = 'DirLockedError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireDirLock(lockPath: string): DirLock {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        path: lockPath,
        release() {
          if (released) return;
          released = true;
          try {
            if (readFileSync(lockPath, 'utf8').trim() === String(process.pid)) unlinkSync(lockPath);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new DirLockedError(lockPath, pid);
      }
      if (pid === process.pid) throw new DirLockedError(lockPath, pid);
      // Stale lock from a dead process: remove and try once more.
      unlinkSync(lockPath);
    }
  }
  throw new Error(`could not acquire ${lockPath}`);
}
