#!/usr/bin/env python3
"""Trains fieldmesh's waveform classifier (a small numpy MLP) and exports it as ONNX.

Reads one or more training datasets and one test dataset written by the Rust side (a directory
with meta.json, inputs.f32 [N x D little-endian f32], labels.u8 [N], snr.f32 [N, NaN = no
emitter]), trains a seeded MLP (standardise -> hidden ReLU layers -> softmax; He init, Adam with
exponential lr decay, decoupled weight decay, class-balanced cross-entropy, best epoch picked on
a deterministic 10% hold-out), writes the ONNX model and prints a test report.

Command used for the project's model (datasets from `fieldmesh simulate --dataset DIR ...`):
    python3 scripts/train_classifier.py --train data/train1 --train data/train3 \
        --train data/train4 --train data/train5 --train data/train6 --train data/train7 \
        --train data/train8 --train data/train9 --test data/test --out models/waveform.onnx \
        --seed 1 --report docs/model-report.md
(trainK: `--count 9000 --seed K`; test: `--count 2500 --seed 2`; see docs/model-card.md)

ONNX contract: input "input" f32 ["batch", D]; output "probabilities" f32 ["batch", C];
graph Sub(mean) -> Mul(1/std) -> (Gemm -> Relu)* -> Gemm -> Softmax(axis=1); opset 13, IR 8;
metadata_props fieldmesh.input_id, fieldmesh.classes (comma-joined), fieldmesh.dim.
Needs numpy and onnx. If onnxruntime is importable the export is checked against numpy.
Single-threaded BLAS makes a rerun reproduce the file bit for bit (on the same machine/numpy).
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy: single-threaded BLAS is deterministic

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

BUCKETS = [("< -6", -np.inf, -6), ("-6..-3", -6, -3), ("-3..0", -3, 0),
           ("0..6", 0, 6), ("6..12", 6, 12), (">= 12", 12, np.inf)]
MAX_BYTES = 2 * 1024 * 1024


def load(path):
    """Returns (meta, x [N,D] f32 with non-finite -> 0, y [N] int64, snr [N] f32)."""
    with open(os.path.join(path, "meta.json")) as f:
        meta = json.load(f)
    n, d = int(meta["count"]), int(meta["dim"])
    x = np.fromfile(os.path.join(path, "inputs.f32"), dtype="<f4")
    y = np.fromfile(os.path.join(path, "labels.u8"), dtype=np.uint8).astype(np.int64)
    snr = np.fromfile(os.path.join(path, "snr.f32"), dtype="<f4")
    if x.size != n * d or y.size != n or snr.size != n:
        raise SystemExit(f"{path}: file sizes do not match count={n} dim={d}")
    if n and y.max() >= len(meta["classes"]):
        raise SystemExit(f"{path}: label out of range")
    x = x.reshape(n, d).astype(np.float32)
    x[~np.isfinite(x)] = 0.0
    return meta, x, y, snr


def init_params(sizes, rng):
    """He-normal weights [in, out] and zero biases, float32."""
    return [((rng.standard_normal((i, o)) * np.sqrt(2.0 / i)).astype(np.float32),
             np.zeros(o, np.float32)) for i, o in zip(sizes[:-1], sizes[1:])]


def forward(params, z):
    """z is already standardised. Returns the activations of every layer and the softmax."""
    acts = [z]
    for k, (w, b) in enumerate(params):
        z = z @ w + b
        if k < len(params) - 1:
            z = np.maximum(z, 0.0)
        acts.append(z)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return acts, e / e.sum(axis=1, keepdims=True)


def predict(params, mean, inv_std, x, batch=4096):
    """Probabilities, computed with the same float32 ops as the ONNX graph."""
    out = [forward(params, (x[i:i + batch] - mean) * inv_std)[1] for i in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros((0, params[-1][0].shape[1]), np.float32)


def train(args, x, y, n_cls, rng):
    """Returns (params, mean, inv_std, best_epoch, train_acc, val_acc)."""
    perm = rng.permutation(len(x))
    n_val = len(x) // 10 if len(x) >= 100 else 0
    val_idx, fit_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    xf, yf = x[fit_idx], y[fit_idx]
    mean = xf.mean(axis=0, dtype=np.float64).astype(np.float32)
    std = np.maximum(xf.std(axis=0, dtype=np.float64), 1e-6)
    inv_std = (1.0 / std).astype(np.float32)
    zf = (xf - mean) * inv_std
    counts = np.bincount(yf, minlength=n_cls).astype(np.float64)
    cls_w = np.where(counts > 0, len(yf) / (n_cls * np.maximum(counts, 1)), 0.0).astype(np.float32)
    sizes = [x.shape[1]] + args.hidden + [n_cls]
    params = init_params(sizes, rng)
    m = [[np.zeros_like(p) for p in layer] for layer in params]
    v = [[np.zeros_like(p) for p in layer] for layer in params]
    b1, b2, eps, step = 0.9, 0.999, 1e-8, 0
    best = (-1.0, 0, [(w.copy(), b.copy()) for w, b in params])
    for epoch in range(1, args.epochs + 1):
        t0, lr = time.perf_counter(), args.lr * args.lr_decay ** (epoch - 1)
        order, loss_sum = rng.permutation(len(zf)), 0.0
        for s in range(0, len(order), args.batch):
            idx = order[s:s + args.batch]
            acts, p = forward(params, zf[idx])
            wi = cls_w[yf[idx]]
            wsum = max(float(wi.sum()), 1e-12)
            loss_sum += float(-(wi * np.log(p[np.arange(len(idx)), yf[idx]] + 1e-12)).sum())
            g = p.copy()  # d(weighted mean CE)/d(logits)
            g[np.arange(len(idx)), yf[idx]] -= 1.0
            g *= (wi / wsum)[:, None]
            step += 1
            for k in range(len(params) - 1, -1, -1):
                w, b = params[k]
                grads = (acts[k].T @ g, g.sum(axis=0))
                if k > 0:
                    g = (g @ w.T) * (acts[k] > 0)
                for j, (par, gr) in enumerate(zip((w, b), grads)):
                    m[k][j] = b1 * m[k][j] + (1 - b1) * gr
                    v[k][j] = b2 * v[k][j] + (1 - b2) * gr * gr
                    upd = (m[k][j] / (1 - b1 ** step)) / (np.sqrt(v[k][j] / (1 - b2 ** step)) + eps)
                    if j == 0:  # decoupled weight decay on weights only
                        par -= np.float32(lr * args.weight_decay) * par
                    par -= (lr * upd).astype(np.float32)
        val_acc = (float((predict(params, mean, inv_std, x[val_idx]).argmax(1) == y[val_idx]).mean())
                   if n_val else float(epoch))  # no hold-out: keep the last epoch
        print(f"epoch {epoch:3d}  lr {lr:.2e}  loss {loss_sum / len(zf):.4f}  "
              f"val_acc {val_acc if n_val else float('nan'):.4f}  {time.perf_counter() - t0:.2f} s")
        if val_acc > best[0]:
            best = (val_acc, epoch, [(w.copy(), b.copy()) for w, b in params])
    params = best[2]
    train_acc = float((predict(params, mean, inv_std, xf).argmax(1) == yf).mean())
    return params, mean, inv_std, best[1], train_acc, best[0] if n_val else float("nan")


def export(path, params, mean, inv_std, meta):
    """Writes the ONNX graph Sub -> Mul -> (Gemm -> Relu)* -> Gemm -> Softmax and checks it."""
    d, n_cls = len(mean), params[-1][0].shape[1]
    inits = [numpy_helper.from_array(mean, "mean"), numpy_helper.from_array(inv_std, "inv_std")]
    nodes = [helper.make_node("Sub", ["input", "mean"], ["centred"]),
             helper.make_node("Mul", ["centred", "inv_std"], ["h0"])]
    for k, (w, b) in enumerate(params):
        inits += [numpy_helper.from_array(w, f"W{k}"), numpy_helper.from_array(b, f"B{k}")]
        out = f"g{k}" if k < len(params) - 1 else "logits"
        nodes.append(helper.make_node("Gemm", [f"h{k}", f"W{k}", f"B{k}"], [out]))
        if k < len(params) - 1:
            nodes.append(helper.make_node("Relu", [out], [f"h{k + 1}"]))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1))
    graph = helper.make_graph(
        nodes, "fieldmesh_waveform_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", d])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", n_cls])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="fieldmesh/scripts/train_classifier.py")
    model.ir_version = 8
    helper.set_model_props(model, {"fieldmesh.input_id": str(meta["input_id"]),
                                   "fieldmesh.classes": ",".join(meta["classes"]),
                                   "fieldmesh.dim": str(d)})
    onnx.checker.check_model(model, full_check=True)
    blob = model.SerializeToString()
    if len(blob) > MAX_BYTES:
        raise SystemExit(f"model is {len(blob)} bytes (> 2 MB); use smaller --hidden")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(blob)
    return blob


def table(header, rows):
    """Markdown table lines."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
           ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]


def acc_cell(ok):
    return f"{ok.mean():.3f} ({ok.size})" if ok.size else "-"


def report(classes, y, pred, snr):
    """Test-set report: overall, per SNR bucket, class x bucket, confusion matrices."""
    ok, noise = pred == y, np.isnan(snr)
    masks = [(name, ~noise & (snr >= lo) & (snr < hi)) for name, lo, hi in BUCKETS]
    masks.append(("noise", noise))
    lines = [f"Test accuracy: {ok.mean():.4f} ({ok.sum()}/{ok.size})", "",
             "### Accuracy per SNR bucket (dB)", ""]
    lines += table(["SNR", "count", "accuracy"],
                   [(n, int(mk.sum()), f"{ok[mk].mean():.3f}" if mk.any() else "-")
                    for n, mk in masks])
    lines += ["", "### Per-class accuracy per SNR bucket: accuracy (count)", ""]
    lines += table(["class"] + [n for n, _ in masks] + ["all"],
                   [[c] + [acc_cell(ok[mk & (y == i)]) for _, mk in masks] + [acc_cell(ok[y == i])]
                    for i, c in enumerate(classes)])
    for title, mk in (("all test examples", np.ones_like(ok)),
                      ("SNR >= 0 dB (plus noise examples, which have no SNR)",
                       noise | (snr >= 0))):
        cm = np.zeros((len(classes), len(classes)), np.int64)
        np.add.at(cm, (y[mk], pred[mk]), 1)
        lines += ["", f"### Confusion matrix, {title} (rows true, columns predicted)", ""]
        lines += table(["true \\ pred"] + list(classes),
                       [[c] + list(cm[i]) for i, c in enumerate(classes)])
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", action="append", required=True, help="training dataset dir (repeatable)")
    ap.add_argument("--test", required=True, help="test dataset dir")
    ap.add_argument("--out", required=True, help="output .onnx path")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--hidden", default="256,128", help="comma-separated hidden layer widths")
    ap.add_argument("--report", help="also write the report as markdown here")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-decay", type=float, default=0.95, help="per-epoch lr factor")
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    args = ap.parse_args()
    args.hidden = [int(h) for h in args.hidden.split(",") if h.strip()]

    sets = [load(p) for p in args.train]
    meta, x_te, y_te, snr_te = load(args.test)
    for p, (m, _, _, _) in zip(args.train, sets):
        if m["classes"] != meta["classes"] or m["dim"] != meta["dim"] or m["input_id"] != meta["input_id"]:
            raise SystemExit(f"{p}: classes/dim/input_id differ from the test set")
    x = np.concatenate([s[1] for s in sets])
    y = np.concatenate([s[2] for s in sets])
    classes = list(meta["classes"])
    print(f"train N={len(x)} test N={len(x_te)} D={x.shape[1]} classes={classes}")

    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    params, mean, inv_std, epoch, train_acc, val_acc = train(args, x, y, len(classes), rng)
    print(f"trained in {time.perf_counter() - t0:.1f} s")
    blob = export(args.out, params, mean, inv_std, meta)

    prob = predict(params, mean, inv_std, x_te)
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
        prob_ort = sess.run(["probabilities"], {"input": x_te})[0]
        print(f"onnxruntime {ort.__version__}: max abs diff vs numpy {np.abs(prob_ort - prob).max():.3e}, "
              f"argmax agreement {(prob_ort.argmax(1) == prob.argmax(1)).mean():.5f}")
    except ImportError:
        print("onnxruntime not importable; skipped the ONNX-vs-numpy check")

    lines = [f"# Waveform classifier report ({os.path.basename(args.out)})", "",
             f"Train dirs: {', '.join(args.train)}; test dir: {args.test}; seed {args.seed}; "
             f"hidden {args.hidden}; epochs {args.epochs}", "",
             f"Chosen epoch: {epoch}; training accuracy: {train_acc:.4f}; "
             f"validation accuracy: {val_acc:.4f}", ""]
    lines += report(classes, y_te, prob.argmax(1), snr_te)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text)
    print(f"wrote {args.out} ({len(blob)} bytes) sha256 {hashlib.sha256(blob).hexdigest()}")


if __name__ == "__main__":
    main()
