/**
 * Side-by-side comparison with PyTorch CPU on this machine: for each model
 * of `--models`, alternates the PyTorch twin and our CLI for several rounds
 * (so both see the same machine load) and reports each round's ratios and
 * their medians. The last line is JSON.
 * - `resnet18`, `efficientnet-b0`: `bench/pytorch_classifier.py` against
 *   `cli/bench_model.ts` (batch, size, steps from `--batch` `--size`
 *   `--steps`);
 * - `retinanet`: one RetinaNet training step on EfficientNet-B0 + FPN,
 *   `bench/pytorch_retinanet.py` against `cli/bench_detector.ts`
 *   (`--det-batch` `--det-size` `--det-steps`, default 4 images, 256 px, 2).
 *
 *   deno run -A bench/compare_pytorch.ts --models resnet18,efficientnet-b0 \
 *     --backends native,wasm --rounds 3 --batch 8 --size 128 --steps 8 --threads 2
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

const script = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** The two commands of one model: PyTorch's and ours (backend appended). */
function commands(
  model: string,
  v: Record<string, string>,
): { torch: string[]; ours: string[] } {
  if (model === "retinanet") {
    const shape = [
      "--batch",
      v["det-batch"],
      "--size",
      v["det-size"],
      "--steps",
      v["det-steps"],
    ];
    return {
      torch: [script("./pytorch_retinanet.py"), ...shape],
      ours: [
        script("../cli/bench_detector.ts"),
        "--backbone",
        "efficientnet-fpn",
        ...shape,
      ],
    };
  }
  const shape = [
    "--batch",
    v.batch,
    "--size",
    v.size,
    "--steps",
    v.steps,
    "--classes",
    v.classes,
  ];
  return {
    torch: [script("./pytorch_classifier.py"), "--model", model, ...shape],
    ours: [script("../cli/bench_model.ts"), "--model", model, ...shape],
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      models: { type: "string", default: "resnet18" },
      backends: { type: "string", default: "native" },
      rounds: { type: "string", default: "3" },
      batch: { type: "string", default: "8" },
      size: { type: "string", default: "128" },
      steps: { type: "string", default: "8" },
      classes: { type: "string", default: "1000" },
      "det-batch": { type: "string", default: "4" },
      "det-size": { type: "string", default: "256" },
      "det-steps": { type: "string", default: "2" },
      threads: {
        type: "string",
        default: String(navigator.hardwareConcurrency),
      },
      python: { type: "string", default: "python3" },
    },
  });
  const threads = {
    OMP_NUM_THREADS: values.threads,
    SELFTRAIN_BLAS_THREADS: values.threads,
    SELFTRAIN_WASM_THREADS: values.threads,
  };
  const backends = values.backends.split(",");
  const models = values.models.split(",");
  const ratios: Record<string, { train: number[]; infer: number[] }> = {};
  for (const m of models) {
    for (const b of backends) ratios[`${m} ${b}`] = { train: [], infer: [] };
  }
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const model of models) {
      const cmd = commands(model, values as Record<string, string>);
      const torch = await lastJson(values.python, cmd.torch, threads);
      for (const b of backends) {
        const ours = await lastJson(Deno.execPath(), [
          "run",
          "-A",
          ...cmd.ours,
          "--backend",
          b,
          "--json",
        ], threads);
        const train = ours.train_images_per_s / torch.train_images_per_s;
        const infer = ours.infer_images_per_s / torch.infer_images_per_s;
        ratios[`${model} ${b}`].train.push(train);
        ratios[`${model} ${b}`].infer.push(infer);
        console.log(
          `round ${
            round + 1
          } ${model} ${b}: train ${ours.train_images_per_s} vs ${torch.train_images_per_s} img/s (${
            train.toFixed(2)
          }x), infer ${ours.infer_images_per_s} vs ${torch.infer_images_per_s} img/s (${
            infer.toFixed(2)
          }x)`,
        );
      }
    }
  }
  const summary: Record<string, { train_ratio: number; infer_ratio: number }> =
    {};
  for (const [key, r] of Object.entries(ratios)) {
    summary[key] = {
      train_ratio: Math.round(median(r.train) * 100) / 100,
      infer_ratio: Math.round(median(r.infer) * 100) / 100,
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
