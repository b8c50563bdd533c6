/**
 * Side-by-side comparison with PyTorch CPU on this machine: alternates
 * `bench/pytorch_resnet18.py` and `cli/bench_model.ts` for several rounds
 * (so both see the same machine load) and reports each round's ratios and
 * their medians. The last line is JSON.
 *
 *   deno run -A bench/compare_pytorch.ts --backends native,wasm --rounds 3 \
 *     --batch 8 --size 128 --steps 8 --threads 2
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

interface Row {
  train_images_per_s: number;
  infer_images_per_s: number;
}

/** Runs a command and parses the JSON object on its last output line. */
async function lastJson(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<Row> {
  const out = await new Deno.Command(cmd, { args, env, stderr: "inherit" })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  const last = text.split("\n").pop() ?? "";
  if (!out.success || !last.startsWith("{")) {
    throw new Error(
      `bench/compare_pytorch.ts: ${cmd} ${args.join(" ")} failed: ${last}`,
    );
  }
  return JSON.parse(last) as Row;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      backends: { type: "string", default: "native" },
      rounds: { type: "string", default: "3" },
      batch: { type: "string", default: "8" },
      size: { type: "string", default: "128" },
      steps: { type: "string", default: "8" },
      classes: { type: "string", default: "1000" },
      threads: {
        type: "string",
        default: String(navigator.hardwareConcurrency),
      },
      python: { type: "string", default: "python3" },
    },
  });
  const shape = [
    "--batch",
    values.batch,
    "--size",
    values.size,
    "--steps",
    values.steps,
  ];
  const threads = {
    OMP_NUM_THREADS: values.threads,
    SELFTRAIN_BLAS_THREADS: values.threads,
  };
  const script = (p: string) => fileURLToPath(new URL(p, import.meta.url));
  const backends = values.backends.split(",");
  const ratios: Record<string, { train: number[]; infer: number[] }> = {};
  for (const b of backends) ratios[b] = { train: [], infer: [] };
  for (let round = 0; round < Number(values.rounds); round++) {
    const torch = await lastJson(values.python, [
      script("./pytorch_resnet18.py"),
      ...shape,
      "--classes",
      values.classes,
    ], threads);
    for (const b of backends) {
      const ours = await lastJson(Deno.execPath(), [
        "run",
        "-A",
        script("../cli/bench_model.ts"),
        "--model",
        "resnet18",
        ...shape,
        "--classes",
        values.classes,
        "--backend",
        b,
        "--json",
      ], threads);
      const train = ours.train_images_per_s / torch.train_images_per_s;
      const infer = ours.infer_images_per_s / torch.infer_images_per_s;
      ratios[b].train.push(train);
      ratios[b].infer.push(infer);
      console.log(
        `round ${
          round + 1
        } ${b}: train ${ours.train_images_per_s} vs ${torch.train_images_per_s} img/s (${
          train.toFixed(2)
        }x), infer ${ours.infer_images_per_s} vs ${torch.infer_images_per_s} img/s (${
          infer.toFixed(2)
        }x)`,
      );
    }
  }
  const summary: Record<string, { train_ratio: number; infer_ratio: number }> =
    {};
  for (const b of backends) {
    summary[b] = {
      train_ratio: Math.round(median(ratios[b].train) * 100) / 100,
      infer_ratio: Math.round(median(ratios[b].infer) * 100) / 100,
    };
  }
  console.log(JSON.stringify({ median_vs_pytorch: summary }));
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}
