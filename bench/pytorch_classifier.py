"""PyTorch CPU reference for cli/bench_model.ts: the same models (ResNet-18
in torchvision's layout, written out below; torchvision's efficientnet_b0,
5,288,548 parameters like ours), data and protocol (SGD momentum 0.9 on
softmax cross-entropy over one random batch, warm-up steps excluded, then
forward passes in eval mode). Prints one JSON line like the Deno CLI. Run
with OMP_NUM_THREADS=2 for the comparison.

    OMP_NUM_THREADS=2 python3 bench/pytorch_classifier.py --model resnet18 --batch 8 --size 128 --steps 5

`--device cuda` runs the same on an NVIDIA GPU (the GPU check's twin),
synchronising before each clock reading.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class ResNet18(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layers(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--model", default="resnet18",
                   choices=["resnet18", "efficientnet-b0"])
    a = p.parse_args()
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    torch.manual_seed(1)
    model = (ResNet18(a.classes) if a.model == "resnet18"
             else torchvision.models.efficientnet_b0(num_classes=a.classes)).to(dev)
    params = sum(t.numel() for t in model.parameters())
    x = (torch.rand(a.batch, 3, a.size, a.size) * 2 - 1).to(dev)
    y = torch.randint(0, a.classes, (a.batch,)).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train_step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    model.train()
    for _ in range(a.warmup):
        train_step()
    sync()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        train_step()
    sync()
    train_s = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        for _ in range(a.warmup):
            model(x)
        sync()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            model(x)
        sync()
        infer_s = time.perf_counter() - t0
    print(json.dumps({
        "model": a.model,
        "params": params,
        "backend": f"pytorch-{torch.__version__}-threads{torch.get_num_threads()}"
        if a.device == "cpu" else f"pytorch-{torch.__version__}-cuda",
        "train_images_per_s": round(a.batch * a.steps / train_s, 2),
        "infer_images_per_s": round(a.batch * a.steps / infer_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
