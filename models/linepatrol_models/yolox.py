"""YOLOX-Nano in PyTorch, initialised from the COCO-pretrained ONNX file.

The only pretrained detector these machines can have is the authors' ONNX export of YOLOX-Nano
(``shared/pretrained/yolox_nano_coco.onnx``): BatchNorm folded into the convolutions, decode
baked into the graph. This module rebuilds the network with plain biased convolutions in the
order the export ran them, so the ONNX initialisers map onto it one to one (checked by shape
and, in the tests, by equal outputs), and gives it a fresh classifier for LinePatrol's classes.

Architecture after Ge et al., "YOLOX: Exceeding YOLO Series in 2021" (Megvii, Apache-2.0):
CSPDarknet with depth-wise convolutions (depth 0.33, width 0.25), PAFPN, decoupled head.

The exported graph speaks the layout the core already decodes (ultralytics' "raw": centre-xywh
in input pixels, then per-class scores), so a YOLOX model needs no second decoder in the core.
Its scores are ``objectness x class``, as YOLOX's own post-processing ranks them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

# Class index of COCO's "truck" in the pretrained head: the COCO class whose features answer
# real construction machinery (excavators, cranes and pump trucks are scored as trucks), so the
# machinery classifiers start from it instead of from noise.
COCO_TRUCK = 7
STRIDES = (8, 16, 32)


class Conv(nn.Module):
    """Convolution with bias (BatchNorm folded, as in the export) and SiLU."""

    def __init__(self, cin: int, cout: int, k: int = 1, s: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=True)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.act(self.conv(x))
        return out


class DWConv(nn.Module):
    """Depth-wise then point-wise convolution."""

    def __init__(self, cin: int, cout: int, k: int = 3, s: int = 1) -> None:
        super().__init__()
        self.dconv = Conv(cin, cin, k, s, groups=cin)
        self.pconv = Conv(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.pconv(self.dconv(x))
        return out


class Bottleneck(nn.Module):
    def __init__(self, c: int, shortcut: bool) -> None:
        super().__init__()
        self.conv1 = Conv(c, c, 1)
        self.conv2 = DWConv(c, c, 3)
        self.add = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.conv2(self.conv1(x))
        return x + y if self.add else y


class CSPLayer(nn.Module):
    def __init__(self, cin: int, cout: int, n: int, shortcut: bool = True) -> None:
        super().__init__()
        hidden = cout // 2
        self.conv1 = Conv(cin, hidden, 1)
        self.conv2 = Conv(cin, hidden, 1)
        self.m = nn.Sequential(*(Bottleneck(hidden, shortcut) for _ in range(n)))
        self.conv3 = Conv(2 * hidden, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.conv3(torch.cat((self.m(self.conv1(x)), self.conv2(x)), 1))
        return out

    def ordered(self) -> Iterator[nn.Conv2d]:
        # The export's order: conv1, conv2, the bottlenecks, conv3.
        yield from _convs(self.conv1)
        yield from _convs(self.conv2)
        yield from _convs(self.m)
        yield from _convs(self.conv3)


class SPPBottleneck(nn.Module):
    def __init__(self, cin: int, cout: int, kernels: Sequence[int] = (5, 9, 13)) -> None:
        super().__init__()
        hidden = cin // 2
        self.conv1 = Conv(cin, hidden, 1)
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in kernels)
        self.conv2 = Conv(hidden * (len(kernels) + 1), cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        out: torch.Tensor = self.conv2(torch.cat([x, *(p(x) for p in self.pools)], 1))
        return out


class Focus(nn.Module):
    """Space-to-depth (2x2 pixels into channels) and a 3x3 convolution."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = Conv(cin * 4, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tl, tr = x[..., ::2, ::2], x[..., ::2, 1::2]
        bl, br = x[..., 1::2, ::2], x[..., 1::2, 1::2]
        out: torch.Tensor = self.conv(torch.cat((tl, bl, tr, br), 1))
        return out


def _convs(module: nn.Module) -> Iterator[nn.Conv2d]:
    """Convolutions in the export's execution order (CSP layers reorder theirs)."""
    if isinstance(module, nn.Conv2d):
        yield module
        return
    if isinstance(module, CSPLayer):
        yield from module.ordered()
        return
    for child in module.children():
        yield from _convs(child)


class Backbone(nn.Module):
    """CSPDarknet-nano and PAFPN: three feature maps at strides 8, 16, 32."""

    def __init__(self) -> None:
        super().__init__()
        c = 16  # 64 x width 0.25
        self.stem = Focus(3, c)
        self.dark2 = nn.Sequential(DWConv(c, 2 * c, 3, 2), CSPLayer(2 * c, 2 * c, 1))
        self.dark3 = nn.Sequential(DWConv(2 * c, 4 * c, 3, 2), CSPLayer(4 * c, 4 * c, 3))
        self.dark4 = nn.Sequential(DWConv(4 * c, 8 * c, 3, 2), CSPLayer(8 * c, 8 * c, 3))
        self.dark5 = nn.Sequential(DWConv(8 * c, 16 * c, 3, 2), SPPBottleneck(16 * c, 16 * c),
                                   CSPLayer(16 * c, 16 * c, 1, shortcut=False))
        self.lateral_conv0 = Conv(16 * c, 8 * c, 1)
        self.c3_p4 = CSPLayer(16 * c, 8 * c, 1, shortcut=False)
        self.reduce_conv1 = Conv(8 * c, 4 * c, 1)
        self.c3_p3 = CSPLayer(8 * c, 4 * c, 1, shortcut=False)
        self.bu_conv2 = DWConv(4 * c, 4 * c, 3, 2)
        self.c3_n3 = CSPLayer(8 * c, 8 * c, 1, shortcut=False)
        self.bu_conv1 = DWConv(8 * c, 8 * c, 3, 2)
        self.c3_n4 = CSPLayer(16 * c, 16 * c, 1, shortcut=False)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.channels = (4 * c, 8 * c, 16 * c)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.dark2(self.stem(x))
        x2 = self.dark3(x)
        x1 = self.dark4(x2)
        x0 = self.dark5(x1)
        fpn0 = self.lateral_conv0(x0)
        f0 = self.c3_p4(torch.cat((self.up(fpn0), x1), 1))
        fpn1 = self.reduce_conv1(f0)
        pan2 = self.c3_p3(torch.cat((self.up(fpn1), x2), 1))
        pan1 = self.c3_n3(torch.cat((self.bu_conv2(pan2), fpn1), 1))
        pan0 = self.c3_n4(torch.cat((self.bu_conv1(pan1), fpn0), 1))
        return pan2, pan1, pan0

    def ordered(self) -> Iterator[nn.Conv2d]:
        for part in (self.stem, self.dark2, self.dark3, self.dark4, self.dark5,
                     self.lateral_conv0, self.c3_p4, self.reduce_conv1, self.c3_p3,
                     self.bu_conv2, self.c3_n3, self.bu_conv1, self.c3_n4):
            yield from _convs(part)


class Head(nn.Module):
    """Decoupled head per level: a stem, then class and box branches; objectness on the box
    branch."""

    def __init__(self, nc: int, channels: Sequence[int], hidden: int = 64) -> None:
        super().__init__()
        self.nc = nc
        self.stems = nn.ModuleList(Conv(c, hidden, 1) for c in channels)
        self.cls_convs = nn.ModuleList(
            nn.Sequential(DWConv(hidden, hidden), DWConv(hidden, hidden)) for _ in channels)
        self.reg_convs = nn.ModuleList(
            nn.Sequential(DWConv(hidden, hidden), DWConv(hidden, hidden)) for _ in channels)
        self.cls_preds = nn.ModuleList(nn.Conv2d(hidden, nc, 1) for _ in channels)
        self.reg_preds = nn.ModuleList(nn.Conv2d(hidden, 4, 1) for _ in channels)
        self.obj_preds = nn.ModuleList(nn.Conv2d(hidden, 1, 1) for _ in channels)

    def forward(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Per level, (batch, 4 + 1 + nc, h, w) raw outputs: box offsets, objectness and class
        logits."""
        out = []
        for k, x in enumerate(feats):
            x = self.stems[k](x)
            reg = self.reg_convs[k](x)
            out.append(torch.cat((self.reg_preds[k](reg), self.obj_preds[k](reg),
                                  self.cls_preds[k](self.cls_convs[k](x))), 1))
        return out

    def ordered_hidden(self) -> Iterator[nn.Conv2d]:
        """The hidden convolutions in the export's order (the predictions keep their names)."""
        for k in range(len(self.stems)):
            yield from _convs(self.stems[k])
            yield from _convs(self.cls_convs[k])
            yield from _convs(self.reg_convs[k])


def grid(feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(points, strides): each output cell's top-left corner in cells and its stride, in the
    order the outputs are flattened."""
    points, strides = [], []
    for x, s in zip(feats, STRIDES, strict=True):
        h, w = x.shape[-2:]
        ys, xs = torch.meshgrid(torch.arange(h, device=x.device, dtype=x.dtype),
                                torch.arange(w, device=x.device, dtype=x.dtype), indexing="ij")
        points.append(torch.stack((xs, ys), -1).reshape(-1, 2))
        strides.append(torch.full((h * w, 1), float(s), device=x.device, dtype=x.dtype))
    return torch.cat(points), torch.cat(strides)


def flatten(levels: Sequence[torch.Tensor]) -> torch.Tensor:
    """(batch, anchors, 5 + nc) from the per-level maps."""
    return torch.cat([x.flatten(2) for x in levels], 2).permute(0, 2, 1)


def decode_boxes(raw: torch.Tensor, points: torch.Tensor, strides: torch.Tensor) -> torch.Tensor:
    """YOLOX's box decode: centre = (offset + cell) x stride, size = exp(log-size) x stride;
    centre-xywh in input pixels."""
    xy = (raw[..., :2] + points) * strides
    wh = torch.exp(raw[..., 2:4].clamp(max=12.0)) * strides
    return torch.cat((xy, wh), -1)


class YoloxNano(nn.Module):
    """YOLOX-Nano for ``names``; takes RGB in [0, 1] like the ultralytics exports (the
    pretrained network wants BGR 0-255: converted inside, so the export and the core's uint8
    input rewrite treat it as any other model)."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        self.names = tuple(names)
        self.backbone = Backbone()
        self.head = Head(len(self.names), self.backbone.channels)
        self.stride = torch.tensor(STRIDES, dtype=torch.float32)

    def raw(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = x.flip(1) * 255.0
        levels: list[torch.Tensor] = self.head(self.backbone(x))
        return levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 4 + nc, anchors): centre-xywh in input pixels, then objectness x class
        probability per class: the layout the core decodes."""
        levels = self.raw(x)
        points, strides = grid(levels)
        out = flatten(levels)
        boxes = decode_boxes(out, points, strides)
        scores = torch.sigmoid(out[..., 4:5]) * torch.sigmoid(out[..., 5:])
        return torch.cat((boxes, scores), -1).permute(0, 2, 1)


def source_class_rows(onnx_path: Path, head_names: Sequence[str] = ()) -> dict[str, int]:
    """The source network's classes -> their rows in its classifier head, so that fine-tuning a
    LinePatrol model starts each class from its own classifier.

    ``head_names`` names the head row by row where the file cannot (a config's
    ``source_names``); otherwise a LinePatrol export's metadata names its classes, and an
    export cut to fewer classes (``linepatrol export --classes``) records in
    ``linepatrol_kept_rows`` which rows it kept. The COCO file names none: empty."""
    import ast

    import onnx
    from onnx import numpy_helper

    if head_names:
        return {name: i for i, name in enumerate(head_names)}
    model = onnx.load(str(onnx_path), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    if "names" not in meta:
        return {}
    parsed = ast.literal_eval(meta["names"])
    names = [parsed[k] for k in sorted(parsed)] if isinstance(parsed, dict) else list(parsed)
    rows = list(range(len(names)))
    for t in model.graph.initializer:
        if t.name == "linepatrol_kept_rows":
            kept = [int(v) for v in numpy_helper.to_array(t)]
            rows = [r - 4 for r in kept[4:]]  # box rows first, then class rows
    return {str(name): row for name, row in zip(names, rows, strict=True)}


def _load_by_name(model: YoloxNano, tensors: dict[str, np.ndarray],
                  rows: dict[str, int]) -> bool:
    """A LinePatrol export keeps the network's own parameter names: copy every tensor by
    name (the classifier row by row from ``rows``, the others from the mean classifier).
    False for a file that does not (the COCO export, matched by execution order instead)."""
    state = model.state_dict()
    plain = [k for k in state if not k.startswith("head.cls_preds.")]
    if any(k not in tensors or tensors[k].shape != tuple(state[k].shape) for k in plain):
        return False
    with torch.no_grad():
        for key in plain:
            state[key].copy_(torch.from_numpy(tensors[key]))
        for k in range(len(STRIDES)):
            src_w = torch.from_numpy(tensors[f"head.cls_preds.{k}.weight"])
            src_b = torch.from_numpy(tensors[f"head.cls_preds.{k}.bias"])
            cls: nn.Conv2d = model.head.cls_preds[k]  # type: ignore[assignment]
            assert cls.bias is not None
            for j, name in enumerate(model.names):
                src = rows.get(name)
                cls.weight[j] = src_w[src] if src is not None else src_w.mean(0)
                cls.bias[j] = src_b[src] if src is not None else src_b.mean()
    return True


def load_pretrained(model: YoloxNano, onnx_path: Path,
                    init_from_coco: dict[str, int] | None = None) -> None:
    """Copy an exported YOLOX-Nano's weights onto ``model`` (the COCO file, or a LinePatrol
    export to fine-tune). The hidden convolutions are matched in execution order and
    shape-checked; box and objectness predictions by name; each class named in
    ``init_from_coco`` starts from that row of the source's classifier, the others from the
    mean classifier (a neutral start that keeps the pretrained prior's scale)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    tensors = {t.name: np.array(numpy_helper.to_array(t)) for t in graph.initializer}
    if _load_by_name(model, tensors, init_from_coco or {}):
        return
    conv_params: list[tuple[np.ndarray, np.ndarray]] = []
    for node in graph.node:
        if node.op_type != "Conv" or (node.input[1].startswith("head.") and "_preds." in \
                node.input[1]):
            continue
        conv_params.append((tensors[node.input[1]], tensors[node.input[2]]))
    ours = [*model.backbone.ordered(), *model.head.ordered_hidden()]
    if len(ours) != len(conv_params):
        raise ValueError(f"{onnx_path}: {len(conv_params)} hidden convolutions, expected "
                         f"{len(ours)}: not a YOLOX-Nano export")
    with torch.no_grad():
        for i, (conv, (w, b)) in enumerate(zip(ours, conv_params, strict=True)):
            if tuple(conv.weight.shape) != w.shape:
                raise ValueError(f"{onnx_path}: convolution {i} has shape {w.shape}, expected "
                                 f"{tuple(conv.weight.shape)}")
            assert conv.bias is not None  # every layer here is built with a bias
            conv.weight.copy_(torch.from_numpy(w))
            conv.bias.copy_(torch.from_numpy(b))
        coco_map = init_from_coco or {}
        for k in range(len(STRIDES)):
            for kind in ("reg_preds", "obj_preds"):
                layer = getattr(model.head, kind)[k]
                layer.weight.copy_(torch.from_numpy(tensors[f"head.{kind}.{k}.weight"]))
                layer.bias.copy_(torch.from_numpy(tensors[f"head.{kind}.{k}.bias"]))
            coco_w = torch.from_numpy(tensors[f"head.cls_preds.{k}.weight"])
            coco_b = torch.from_numpy(tensors[f"head.cls_preds.{k}.bias"])
            cls: nn.Conv2d = model.head.cls_preds[k]  # type: ignore[assignment]
            assert cls.bias is not None
            for j, name in enumerate(model.names):
                src = coco_map.get(name)
                cls.weight[j] = coco_w[src] if src is not None else coco_w.mean(0)
                cls.bias[j] = coco_b[src] if src is not None else coco_b.mean()
