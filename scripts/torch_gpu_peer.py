#!/usr/bin/env python3
"""PyTorch eager on the GPU, timed the way `onepass bench` times OnePass: one gradient, one Hessian-vector product
(double backward) and one SGD-with-momentum step, median milliseconds over repeats, the device synchronised around
each one. Prints one JSON object. Used by scripts/gpu-check.sh; needs only torch (with CUDA).

  torch_gpu_peer.py mlp --layers 784,50,10 --batch 50
  torch_gpu_peer.py resnet18 --image 3x32x32 --batch 100
  torch_gpu_peer.py lstm --vocab 10000 --hidden 650 --steps 70 --sequences 40
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn
import torch.nn.functional as F


class Block(nn.Module):
    """Two 3x3 convolutions with batch norm, and a 1x1 projection when the shape changes (ResNet basic block)."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.project = None
        if stride != 1 or inputs != outputs:
            self.project = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.project is None else self.project(x)))


def resnet18(channels, classes, width=64):
    """The ImageNet-style ResNet-18 layout (7x7 stem, max-pool, four stages of two blocks) that OnePass builds."""
    stages, inputs = [], width
    for i, stride in enumerate([1, 2, 2, 2]):
        outputs = width * (2 ** i)
        stages += [Block(inputs, outputs, stride), Block(outputs, outputs, 1)]
        inputs = outputs
    return nn.Sequential(nn.Conv2d(channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.MaxPool2d(3, 2, 1), *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(inputs, classes))


class LanguageModel(nn.Module):
    def __init__(self, vocab, hidden, layers):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, layers)
        self.decode = nn.Linear(hidden, vocab)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.decode(out)


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def median_ms(f, repeats, device):
    for _ in range(3):
        f()
    torch.cuda.synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        torch.cuda.synchronize(device)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["mlp", "resnet18", "lstm"])
    ap.add_argument("--layers", default="784,50,10")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--image", default="3x32x32")
    ap.add_argument("--vocab", type=int, default=10000)
    ap.add_argument("--hidden", type=int, default=650)
    ap.add_argument("--steps", type=int, default=70)
    ap.add_argument("--sequences", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=20)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("torch_gpu_peer: torch has no usable CUDA device")
    device = torch.device("cuda")
    torch.manual_seed(1)
    if a.model == "mlp":
        sizes = [int(s) for s in a.layers.split(",")]
        model = mlp(sizes)
        x = torch.randn(a.batch, sizes[0])
        y = torch.randint(sizes[-1], (a.batch,))
        shape = dict(layers=a.layers, batch=a.batch)
    elif a.model == "resnet18":
        c, h, w = (int(t) for t in a.image.split("x"))
        model = resnet18(c, 10)
        x = torch.randn(a.batch, c, h, w)
        y = torch.randint(10, (a.batch,))
        shape = dict(image=a.image, batch=a.batch)
    else:
        model = LanguageModel(a.vocab, a.hidden, 2)
        x = torch.randint(a.vocab, (a.steps, a.sequences))
        y = torch.randint(a.vocab, (a.steps * a.sequences,))
        shape = dict(vocab=a.vocab, hidden=a.hidden, steps=a.steps, sequences=a.sequences)
    model = model.to(device).train()
    x, y = x.to(device), y.to(device)
    params = list(model.parameters())
    direction = [torch.randn_like(p) for p in params]
    velocity = [torch.zeros_like(p) for p in params]

    def loss():
        out = model(x)
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y)

    def gradient():
        torch.autograd.grad(loss(), params)

    def hvp():
        g = torch.autograd.grad(loss(), params, create_graph=True)
        torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, direction)), params)

    def step():
        g = torch.autograd.grad(loss(), params)
        with torch.no_grad():
            for p, gi, v in zip(params, g, velocity):
                v.mul_(0.9).add_(gi).add_(p, alpha=1e-5)
                p.add_(v, alpha=-1e-3)

    hvp()
    figures = dict(gradient_ms=median_ms(gradient, a.repeats, device), hvp_ms=median_ms(hvp, a.repeats, device),
                   train_step_ms=median_ms(step, a.repeats, device))
    figures["hvp_over_gradient"] = figures["hvp_ms"] / figures["gradient_ms"]
    print(json.dumps(dict(peer=f"pytorch-{torch.__version__}-eager", device=torch.cuda.get_device_name(device), model=a.model,
                          parameters=sum(p.numel() for p in params), **shape, **figures)))


if __name__ == "__main__":
    main()
