"""Builds the torchvision EfficientNet fixture of tests/torchvision_import_test.ts.

Run with the system Python that has torch and torchvision (not part of the
test run):

    /usr/bin/python3 tools/make_torchvision_fixture.py tests/fixtures/torchvision_efficientnet

It builds torchvision's EfficientNet (the efficientnet_b0 table and blocks,
scaled to width 0.25 / depth 0.5 so the weights stay small) with seeded
random weights, batch-norm statistics and affine parameters drawn away from
their defaults, saves them as safetensors (written by hand: the format is a
little-endian u64 header length, a JSON header, then raw little-endian
tensors), and records two 64x64 RGB images and PyTorch's logits on them
(eval mode, ImageNet normalisation of pixels / 255).
"""

import base64
import json
import os
import struct
import sys

import torch
import torchvision
from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

WIDTH, DEPTH, CLASSES, SIZE, SEED = 0.25, 0.5, 1000, 64, 3
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
# Perturb the measured BN statistics (off for deep variants, where the
# perturbations of ~40 layers compound into huge, chaotic logits).
PERTURB_STATS = True


def write_safetensors(path, tensors):
    """safetensors by hand: header length (u64 LE), JSON header, data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        raw = t.numpy().astype("<f4" if dtype == "F32" else "<i8").tobytes()
        header[name] = {
            "dtype": dtype,
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)  # the format allows trailing spaces
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    os.replace(path + ".tmp", path)


def images(gen):
    """Two smooth 64x64 images with noise (uint8, HWC)."""
    out = []
    ys = torch.linspace(0, 1, SIZE).view(SIZE, 1, 1)
    xs = torch.linspace(0, 1, SIZE).view(1, SIZE, 1)
    for k in range(2):
        phase = torch.rand(3, generator=gen) * 6.28
        base = 0.5 + 0.4 * torch.sin(6 * (xs + (k + 1) * ys) + phase.view(1, 1, 3))
        noise = 0.1 * torch.randn(SIZE, SIZE, 3, generator=gen)
        out.append(((base + noise).clamp(0, 1) * 255).round().to(torch.uint8))
    return out


def main(out_dir):
    torch.manual_seed(SEED)
    setting, last = _efficientnet_conf(
        "efficientnet_b0", width_mult=WIDTH, depth_mult=DEPTH
    )
    model = EfficientNet(setting, 0.2, last_channel=last, num_classes=CLASSES)
    gen = torch.Generator().manual_seed(SEED + 1)
    imgs = images(gen)
    x = torch.stack([im.permute(2, 0, 1).float() / 255 for im in imgs])
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    with torch.no_grad():
        # Affine parameters away from 1 / 0, then moving statistics measured
        # on data (random ones would wash the input out: every image would
        # get the same logits), then perturbed so mean / var stay visible.
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.2 * torch.randn(c, generator=gen))
                m.reset_running_stats()
                m.momentum = None  # cumulative average
        model.train()
        calib = torch.cat([x, torch.randn(6, 3, SIZE, SIZE, generator=gen)])
        model(calib)
        model.eval()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d) and PERTURB_STATS:
                c = m.num_features
                m.running_mean.add_(0.05 * torch.randn(c, generator=gen))
                m.running_var.mul_(0.8 + 0.4 * torch.rand(c, generator=gen))
            elif isinstance(m, torch.nn.Linear):
                m.weight.mul_(0.05)  # logits of a few units, as a trained net
                m.bias.copy_(0.1 * torch.randn(m.out_features, generator=gen))
    with torch.no_grad():
        logits = model(x)
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(f"{out_dir}/weights.safetensors", model.state_dict())
    fixture = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "model": "efficientnet_b0 table",
        "width_mult": WIDTH,
        "depth_mult": DEPTH,
        "num_classes": CLASSES,
        "seed": SEED,
        "images": [
            {
                "name": f"image{k}.png",
                "width": SIZE,
                "height": SIZE,
                "rgb": base64.b64encode(im.numpy().tobytes()).decode(),
            }
            for k, im in enumerate(imgs)
        ],
        "logits": [[round(float(v), 6) for v in row] for row in logits],
    }
    with open(f"{out_dir}/expected.json.tmp", "w") as f:
        json.dump(fixture, f, indent=2)  # as deno fmt lays JSON out
        f.write("\n")
    os.replace(f"{out_dir}/expected.json.tmp", f"{out_dir}/expected.json")
    params = sum(p.numel() for p in model.parameters())
    spread = (logits[0] - logits[1]).abs().max()
    print(
        f"{out_dir}: {params} parameters, logits {logits.min():.3f}..{logits.max():.3f},"
        f" images differ by up to {spread:.3f}"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/torchvision_efficientnet")
