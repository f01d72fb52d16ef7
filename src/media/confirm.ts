import { createInterface } from 'node:readline/promises';
import type { DriveCard } from './card.js';

/**
 * Ask the operator to type the device name (`sdb` or `/dev/sdb`). Anything else, or end of
 * input, is a "no". The prompt goes to `output` (stderr in the CLI) so stdout stays clean.
 */
export async function askDeviceName(card: DriveCard, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<boolean> {
  const rl = createInterface({ input, output, terminal: false });
  try {
    output.write(`Type the device name (${card.name}) to erase it and write the image, anything else cancels: `);
    const answer = await new Promise<string | null>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(null));
    });
    return answer !== null && (answer.trim() === card.name || answer.trim() === card.path);
  } finally {
    rl.close();
  }
}
