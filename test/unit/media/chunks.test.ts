import t from 'tap';
import { CHUNK_BYTES, HEAD_BYTES, chunkCount, chunkLength, firstDifference, headLength, roundUp, sha256 } from '../../../src/media/chunks.js';

t.test('chunks are aligned to offset 0 and the last one may be short', async (t) => {
  t.equal(chunkCount(CHUNK_BYTES * 2 + 1), 3);
  t.equal(chunkLength(CHUNK_BYTES * 2 + 1, 2), 1);
  t.equal(chunkLength(CHUNK_BYTES * 2 + 1, 0), CHUNK_BYTES);
  t.equal(chunkCount(10, 4), 3);
  t.equal(roundUp(513, 512), 1024);
});

t.test('the boot head is 64 KiB in whole blocks, never past the image', async (t) => {
  t.equal(headLength(10 * CHUNK_BYTES, 512), HEAD_BYTES);
  t.equal(headLength(1000, 512), 1024);
  t.equal(headLength(10 * CHUNK_BYTES, 4096), HEAD_BYTES);
});

t.test('firstDifference finds the first differing byte, or -1', async (t) => {
  t.equal(firstDifference(Buffer.from([1, 2, 3]), Buffer.from([1, 2, 3])), -1);
  t.equal(firstDifference(Buffer.from([1, 2, 3]), Buffer.from([1, 9, 3])), 1);
  t.equal(firstDifference(Buffer.from([1, 2]), Buffer.from([1, 2, 3])), 2);
  t.equal(sha256(Buffer.from('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
