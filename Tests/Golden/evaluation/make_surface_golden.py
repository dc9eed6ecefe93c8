#!/usr/bin/env python3
"""Golden surface metrics for Tests/NNUNetEvaluationTests: nnU-Net v1.7.1's evaluator with advanced=True
("Hausdorff Distance 95", via medpy) and medpy's assd, on ../shared/reference/eval (pred vs ref, labels 1 and 2,
spacing from the prediction image as v1's NiftiEvaluator takes it). Run with the peer venv from the repository root:
    .peer-venv/bin/python Tests/Golden/evaluation/make_surface_golden.py
Writes surface_metrics.json next to this script (NaN as null)."""
import json, os, sys
import numpy as np
import SimpleITK as sitk
from medpy import metric
from nnunet.evaluation.evaluator import aggregate_scores
from importlib.metadata import version

here = os.path.dirname(os.path.abspath(__file__))
ev = os.path.join(here, "..", "..", "..", "..", "shared", "reference", "eval")
ref, pred = os.path.join(ev, "ref"), os.path.join(ev, "pred")
files = sorted(f for f in os.listdir(pred) if f.endswith(".nii.gz"))
res = aggregate_scores([(os.path.join(pred, f), os.path.join(ref, f)) for f in files], labels=(1, 2), num_threads=1,
                       advanced=True)
out = {"script": "Tests/Golden/evaluation/make_surface_golden.py", "nnunet": version("nnunet"),
       "medpy": version("medpy"), "cases": {}}
nan = lambda v: None if v is None or np.isnan(v) else float(v)  # noqa: E731
for f, r in zip(files, res["all"]):
    img = sitk.ReadImage(os.path.join(pred, f))
    t, g = sitk.GetArrayFromImage(img), sitk.GetArrayFromImage(sitk.ReadImage(os.path.join(ref, f)))
    spacing = np.array(img.GetSpacing())[::-1]
    row = {}
    for label in ("1", "2"):
        tt, gg = t == int(label), g == int(label)
        full_or_empty = not tt.any() or not gg.any() or tt.all() or gg.all()
        row[label] = {"Hausdorff Distance 95": nan(r[label]["Hausdorff Distance 95"]),
                      "Avg. Symmetric Surface Distance": None if full_or_empty else float(metric.assd(tt, gg, spacing, 1))}
    out["cases"][f[:-7]] = row
json.dump(out, open(os.path.join(here, "surface_metrics.json"), "w"), indent=1, sort_keys=True)
