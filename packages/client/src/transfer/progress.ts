/** Progress of one transfer, in plaintext bytes of the file (padding is not counted). */
export type TransferPhase = 'verifying' | 'uploading' | 'publishing' | 'downloading' | 'finishing' | 'done';

export interface TransferProgress {
  direction: 'send' | 'receive';
  phase: TransferPhase;
  bytesDone: number;
  bytesTotal: number;
  /** The file name (sender's name when receiving, after sanitising). */
  name: string;
}

export type ProgressListener = (progress: TransferProgress) => void;

/** Emits progress without ever letting a listener's exception break the transfer. */
export function progressEmitter(
  base: Omit<TransferProgress, 'phase' | 'bytesDone'>,
  listener: ProgressListener | undefined,
): (phase: TransferPhase, bytesDone: number) => void {
  return (phase, bytesDone) => {
    try {
      listener?.({ ...base, phase, bytesDone });
    } catch {
      // a display problem must not fail a transfer
    }
  };
}
