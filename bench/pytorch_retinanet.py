"""PyTorch CPU twin of cli/bench_detector.ts from torchvision parts:
RetinaNet (torchvision.models.detection.RetinaNet: 4-conv 256-channel
subnets, P3-P7, 9 anchors a cell, focal + L1 loss with anchor matching) on
EfficientNet-B0 (torchvision) C3-C5 + FeaturePyramidNetwork with P6/P7,
SGD momentum on a synthetic batch at a fixed size, then forward passes of
backbone and head (no post-processing). Prints one JSON line. Run with
OMP_NUM_THREADS=2 for the comparison.

    OMP_NUM_THREADS=2 python3 bench/pytorch_retinanet.py --batch 4 --size 256 --steps 3
"""
import argparse
import json
import resource
import time
from collections import OrderedDict

import torch
import torch.nn as nn
import torchvision
from torchvision.models.detection import RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops.feature_pyramid_network import (
    FeaturePyramidNetwork,
    LastLevelP6P7,
)


class EfficientNetFpn(nn.Module):
    """EfficientNet-B0 features C3 (40), C4 (112), C5 (320) -> FPN P3-P7."""

    def __init__(self):
        super().__init__()
        self.features = torchvision.models.efficientnet_b0().features
        self.taps = {3: "c3", 5: "c4", 7: "c5"}
        self.fpn = FeaturePyramidNetwork(
            [40, 112, 320], 256, extra_blocks=LastLevelP6P7(256, 256)
        )
        self.out_channels = 256

    def forward(self, x):
        feats = OrderedDict()
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                feats[self.taps[i]] = x
            if i == 7:
                break
        return self.fpn(feats)


def build(classes, size):
    sizes = tuple((s, int(s * 2 ** (1 / 3)), int(s * 2 ** (2 / 3)))
                  for s in (32, 64, 128, 256, 512))
    anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * 5)
    return RetinaNet(EfficientNetFpn(), classes, min_size=size, max_size=size,
                     anchor_generator=anchors)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--classes", type=int, default=80)
    a = p.parse_args()
    torch.manual_seed(1)
    model = build(a.classes, a.size)
    params = sum(t.numel() for t in model.parameters())
    images = [torch.randn(3, a.size, a.size) for _ in range(a.batch)]
    s = a.size / 8
    box = torch.tensor([[s, s, 3 * s, 2 * s], [4 * s, 3 * s, 7 * s, 7 * s]])
    targets = [{"boxes": box, "labels": torch.tensor([1, 3])}
               for _ in range(a.batch)]
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train_step():
        opt.zero_grad()
        losses = model(images, targets)
        sum(losses.values()).backward()
        opt.step()

    model.train()
    train_step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        train_step()
    train_s = time.perf_counter() - t0
    model.eval()
    x = torch.stack(images)
    with torch.no_grad():
        def infer():
            feats = list(model.backbone(x).values())
            model.head(feats)
        infer()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            infer()
        infer_s = time.perf_counter() - t0
    print(json.dumps({
        "model": "retinanet-efficientnet-fpn",
        "params": params,
        "backend": f"pytorch-{torch.__version__}-threads{torch.get_num_threads()}",
        "train_images_per_s": round(a.batch * a.steps / train_s, 2),
        "infer_images_per_s": round(a.batch * a.steps / infer_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
