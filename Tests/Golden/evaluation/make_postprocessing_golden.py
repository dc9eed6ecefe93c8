#!/usr/bin/env python3
"""Golden postprocessing decisions for the branches that ../shared/reference/postprocessing does not take.

Runs nnU-Net v1.7.1's own determine_postprocessing (defaults: dice_threshold 0, no advanced postprocessing) on small
seeded synthetic folds and stores, per scenario in postprocessing_branches/<name>/:
  gt/*.nii.gz, validation_raw/*.nii.gz + validation_raw/summary.json   inputs (summary = aggregate_scores with
                                                                         labels 0..K, as nnUNetTrainer.validate writes)
  expected_postprocessing.json                                           v1's decision
  expected_cases.json                                                    per case: sha256 of the postprocessed uint8
                                                                         (z, y, x) array and its label counts
  expected_final_summary.json                                            v1's summary of the postprocessed folder
Scenarios: merged foreground accepted then one class per class ([[1, 2], 2]); a single class ([[1]]); nothing
accepted ([]); three classes 1, 2, 10 (string order of classes: [1, 10, 2]).
Run from the repository root: .peer-venv/bin/python Tests/Golden/evaluation/make_postprocessing_golden.py
(seed 4242; nnunet 1.7.1, SimpleITK, numpy as pinned in ../shared/peer/requirements.txt)."""
import hashlib, json, os, shutil, sys, tempfile
import numpy as np
import SimpleITK as sitk
from nnunet.evaluation.evaluator import aggregate_scores
from nnunet.postprocessing.connected_components import determine_postprocessing

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "postprocessing_branches")
shape, spacing_xyz = (20, 28, 30), (0.9, 0.8, 2.0)
rng = np.random.default_rng(4242)
zz, yy, xx = np.ogrid[:shape[0], :shape[1], :shape[2]]


def ball(c, r):
    return ((zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2) <= r * r


def box(z0, z1, y0, y1, x0, x1):
    m = np.zeros(shape, bool)
    m[z0:z1, y0:y1, x0:x1] = True
    return m


def noisy(seg, p=0.01):
    """Boundary noise: flip some voxels that have a differently labelled face neighbour."""
    out = seg.copy()
    edge = np.zeros(shape, bool)
    for ax in range(3):
        for s in (1, -1):
            edge |= np.roll(seg, s, axis=ax) != seg
    flip = edge & (rng.uniform(size=shape) < 0.15)
    out[flip] = np.roll(seg, 1, axis=0)[flip]
    return out


def scenario_merged_then_class2(i):
    gt = np.zeros(shape, np.uint8)
    gt[ball((10, 14, 15), 7 + i % 2)] = 1
    gt[ball((10, 14, 15), 3)] = 2
    pred = noisy(gt)
    pred[box(1, 3, 1, 3, 1, 3)] = 1            # spurious class-1 island far away
    pred[box(17, 19, 24, 26, 26, 28)] = 2      # spurious class-2 island far away
    pred[box(10, 12, 14, 16, 21 + i % 2, 23 + i % 2)] = 2  # class-2 blob touching the class-1 body only
    return gt, pred


def scenario_single_class(i):
    gt = np.zeros(shape, np.uint8)
    gt[ball((9, 13, 14), 6 + i % 3)] = 1
    pred = noisy(gt)
    pred[box(1, 3, 20, 23, 2, 4)] = 1
    if i == 1:
        pred[box(16, 18, 2, 4, 25, 27)] = 1
    return gt, pred


def scenario_nothing(i):
    gt = np.zeros(shape, np.uint8)
    gt[ball((6, 8, 8), 4)] = 1
    gt[ball((14, 20, 22), 4 + i % 2)] = 1      # a second true class-1 component
    gt[ball((10, 21, 8), 3)] = 2
    gt[ball((10, 6, 22), 3)] = 2               # and a second true class-2 component
    return gt, noisy(gt)


def scenario_three_classes(i):
    gt = np.zeros(shape, np.uint8)
    gt[ball((10, 14, 15), 8)] = 1
    gt[ball((10, 14, 12), 3)] = 2
    gt[ball((10, 14, 19), 2 + i % 2)] = 10
    pred = noisy(gt)
    pred[box(1, 3, 1, 3, 1, 3)] = 10
    pred[box(17, 19, 1, 3, 26, 28)] = 2
    pred[box(1, 2, 25, 27, 26, 28)] = 1
    return gt, pred


def write(arr, path):
    img = sitk.GetImageFromArray(arr.astype(np.uint8))
    img.SetSpacing(spacing_xyz)
    img.SetOrigin((3.0, -2.0, 10.0))
    sitk.WriteImage(img, path)


def run(name, make, labels, cases=3):
    out = os.path.join(here, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "gt"))
    os.makedirs(os.path.join(out, "validation_raw"))
    names = ["case_%03d.nii.gz" % i for i in range(cases)]
    for i, n in enumerate(names):
        gt, pred = make(i)
        write(gt, os.path.join(out, "gt", n))
        write(pred, os.path.join(out, "validation_raw", n))
    work = tempfile.mkdtemp()
    shutil.copytree(os.path.join(out, "gt"), os.path.join(work, "gt"))
    shutil.copytree(os.path.join(out, "validation_raw"), os.path.join(work, "validation_raw"))
    aggregate_scores([(os.path.join(work, "validation_raw", n), os.path.join(work, "gt", n)) for n in names],
                     labels=labels, json_output_file=os.path.join(work, "validation_raw", "summary.json"),
                     json_author="Fabian", num_threads=1)
    determine_postprocessing(work, os.path.join(work, "gt"), "validation_raw",
                             final_subf_name="validation_raw_postprocessed", processes=1)

    def relative(path):
        return "/".join(path.split("/")[-2:])

    for src, dst in ((os.path.join(work, "validation_raw", "summary.json"), os.path.join(out, "validation_raw", "summary.json")),
                     (os.path.join(work, "validation_raw_postprocessed", "summary.json"), os.path.join(out, "expected_final_summary.json"))):
        s = json.load(open(src))
        for c in s["results"]["all"]:
            c["test"], c["reference"] = relative(c["test"]), relative(c["reference"])
        with open(dst, "w") as f:
            json.dump(s, f, sort_keys=True, indent=4)
    shutil.copy(os.path.join(work, "postprocessing.json"), os.path.join(out, "expected_postprocessing.json"))
    cases_json = {}
    for n in names:
        a = sitk.GetArrayFromImage(sitk.ReadImage(os.path.join(work, "validation_raw_postprocessed", n))).astype(np.uint8)
        v, c = np.unique(a, return_counts=True)
        cases_json[n[:-7]] = {"sha256": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest(),
                              "counts": {str(int(k)): int(x) for k, x in zip(v, c)}}
    with open(os.path.join(out, "expected_cases.json"), "w") as f:
        json.dump(cases_json, f, indent=1, sort_keys=True)
    shutil.rmtree(work)
    print(name, json.load(open(os.path.join(out, "expected_postprocessing.json")))["for_which_classes"], file=sys.stderr)


run("merged_then_class2", scenario_merged_then_class2, (0, 1, 2))
run("single_class", scenario_single_class, (0, 1))
run("nothing_accepted", scenario_nothing, (0, 1, 2))
run("three_classes", scenario_three_classes, (0, 1, 2, 10))
