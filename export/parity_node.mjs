// Run an exported TF.js graph model in Node on a batch of bitmaps, for export/parity.py.
//
// Usage: node export/parity_node.mjs --model DIR --inputs FILE --count N --out FILE [--backend wasm|cpu]
// FILE holds N*28*28 little-endian float32 values; the output file gets N*C float32 values,
// and stdout one JSON line {backend, count, outputs}. Node reads the model straight from disk
// (no server), through a small IOHandler, so the check runs without a browser.

import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');
// Batches keep memory flat; the page predicts one drawing at a time, the numbers do not depend on it.
const BATCH_SIZE = 256;

/** An IOHandler that reads model.json and its weight shards from a folder. */
function fileHandler(modelDir) {
  return {
    async load() {
      const modelJson = JSON.parse(await readFile(path.join(modelDir, 'model.json'), 'utf8'));
      const weightSpecs = [];
      const shards = [];
      for (const group of modelJson.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const shardPath of group.paths) shards.push(await readFile(path.join(modelDir, shardPath)));
      }
      const joined = Buffer.concat(shards);
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        signature: modelJson.signature,
        userDefinedMetadata: modelJson.userDefinedMetadata,
        modelInitializer: modelJson.modelInitializer,
        weightSpecs,
        weightData: joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength),
      };
    },
  };
}

async function useBackend(name) {
  if (name === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    // The .wasm binaries sit next to the backend's own script in node_modules.
    const distDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(distDir + path.sep);
  }
  if (!(await tf.setBackend(name))) throw new Error(`TF.js backend ${name} failed to start`);
  await tf.ready();
}

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      inputs: { type: 'string' },
      count: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string', default: 'wasm' },
    },
  });
  for (const required of ['model', 'inputs', 'count', 'out']) {
    if (!values[required]) throw new Error(`--${required} is required`);
  }
  await useBackend(values.backend);
  const model = await tf.loadGraphModel(fileHandler(values.model));
  const count = Number.parseInt(values.count, 10);
  const raw = await readFile(values.inputs);
  const inputs = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const pixels = inputs.length / count;
  const side = Math.round(Math.sqrt(pixels));
  if (!Number.isInteger(pixels) || side * side !== pixels) throw new Error(`${inputs.length} values do not make ${count} square bitmaps`);
  const chunks = [];
  let outputs = 0;
  for (let start = 0; start < count; start += BATCH_SIZE) {
    const size = Math.min(BATCH_SIZE, count - start);
    const batch = inputs.subarray(start * pixels, (start + size) * pixels);
    const output = tf.tidy(() => model.predict(tf.tensor(batch, [size, side, side, 1], 'float32')));
    outputs = output.shape[1];
    chunks.push(await output.data());
    output.dispose();
  }
  const result = new Float32Array(count * outputs);
  let offset = 0;
  for (const chunk of chunks) {
    result.set(chunk, offset);
    offset += chunk.length;
  }
  await writeFile(values.out, Buffer.from(result.buffer));
  console.log(JSON.stringify({ backend: tf.getBackend(), count, outputs }));
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
