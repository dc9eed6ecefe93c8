#!/usr/bin/env python3
"""Builds the v1_ct_model test fixture: a small, genuine nnU-Net v1 (1.7.1) CT model and v1's own predictions.

Run it with the peer venv's python (see ../../../../shared/peer/setup.sh), from anywhere:

    .peer-venv/bin/python Tests/Fixtures/v1_ct_model/make_fixture.py

--planning-reference only regenerates the raw training task (checked against the stored files) into raw/, runs v1's
plan_and_preprocess on it, checks the plans against the stored pickle and stores v1's fingerprint pickles and one
preprocessed case in planning/ (no training; the model and predictions stay untouched). --raw-only stops after raw/.

Everything happens in a temporary work folder. Every nnU-Net v1 step runs in its own subprocess whose working
directory is that folder, with nnUNet_raw_data_base / nnUNet_preprocessed / RESULTS_FOLDER set to *relative*
names, so that no absolute path ends up in any pickle, log or JSON file that v1 writes. At the end the results are
copied next to this script (see README.md for the layout) and checked for absolute paths.

This script is our own code. It calls nnU-Net v1's console entry points (as modules) and, for the training step,
wraps nnUNetTrainerV2.__init__ to shorten the schedule (epochs / batches per epoch); nothing else is changed.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import OrderedDict

import numpy as np
import SimpleITK as sitk

HERE = os.path.dirname(os.path.abspath(__file__))
TASK_ID = 902
TASK = "Task902_CTSpheres"
PREFIX = "ctspheres"
PLANS_ID = "nnUNetPlansv2.1"
TRAINER_DIR = "nnUNetTrainerV2__nnUNetPlansv2.1"
LABELS = OrderedDict([("0", "background"), ("1", "soft_tissue"), ("2", "bone")])

# Test cases: fixed geometry, deliberately different from the training spacings' median (so v1 resamples on
# input and on export). (z, y, x) voxels, ITK spacing (x, y, z) in mm, ITK direction, zero padding frame.
TEST_CASES = [
    dict(shape=(18, 52, 60), spacing=(0.72, 0.72, 5.0), direction=(1, 0, 0, 0, 1, 0, 0, 0, 1), zero_frame=False),
    dict(shape=(24, 60, 56), spacing=(0.9, 0.9, 3.5), direction=(-1, 0, 0, 0, 1, 0, 0, 0, 1), zero_frame=False),
    dict(shape=(20, 64, 64), spacing=(0.76, 0.82, 4.6), direction=(1, 0, 0, 0, 1, 0, 0, 0, 1), zero_frame=True),
]
N_TRAIN = 8
TRAIN_FLIPPED_Y = 5  # training case whose ITK direction has a flipped y axis


# ----------------------------------------------------------------------------------------------------------------
# synthetic CT data
# ----------------------------------------------------------------------------------------------------------------

def phantom(rng, shape, spacing_xyz, zero_frame=False):
    """One synthetic CT volume in Hounsfield units, (z, y, x) int16, and its (z, y, x) uint8 labels.

    Air (about -1000 HU, clamped at -1024 like a scanner), an elliptic 'body' cylinder of fat-like tissue
    (about -90 HU), an ellipsoidal soft-tissue organ (label 1, mean 50..70 HU, sd 10) in front and a bone-like capsule
    (label 2: marrow 300..450 HU, cortex 900..1150 HU) behind. Gaussian noise everywhere and a few outlier voxels
    (streak-like 1800..3000 HU, gas-like -400..-250 HU) inside the foreground so that v1's 0.5 / 99.5 percentile
    clipping really clips. Objects are defined in millimetres around the volume centre.
    """
    nz, ny, nx = shape
    sx, sy, sz = spacing_xyz
    z = (np.arange(nz) - (nz - 1) / 2.0) * sz
    y = (np.arange(ny) - (ny - 1) / 2.0) * sy
    x = (np.arange(nx) - (nx - 1) / 2.0) * sx
    Z, Y, X = np.meshgrid(z, y, x, indexing="ij")
    fov_z, fov_y, fov_x = nz * sz, ny * sy, nx * sx

    bx = 0.44 * fov_x * rng.uniform(0.9, 1.0)
    by = 0.40 * fov_y * rng.uniform(0.9, 1.0)
    body = (X / bx) ** 2 + (Y / by) ** 2 <= 1.0

    # organ: ellipsoid in the anterior half of the body
    oc = (rng.uniform(-0.12, 0.12) * fov_z, -0.38 * by + rng.uniform(-1.5, 1.5), rng.uniform(-0.15, 0.15) * bx)
    orad = (rng.uniform(0.28, 0.40) * fov_z, rng.uniform(0.40, 0.48) * by, rng.uniform(0.45, 0.60) * bx)
    organ = ((Z - oc[0]) / orad[0]) ** 2 + ((Y - oc[1]) / orad[1]) ** 2 + ((X - oc[2]) / orad[2]) ** 2 <= 1.0

    # bone: capsule along z in the posterior half
    bc = (rng.uniform(-0.1, 0.1) * fov_z, 0.45 * by + rng.uniform(-1.0, 1.0), rng.uniform(-0.2, 0.2) * bx)
    brad = rng.uniform(5.0, 7.5)
    half_len = rng.uniform(0.22, 0.38) * fov_z
    dz = np.maximum(np.abs(Z - bc[0]) - half_len, 0.0)
    dist = np.sqrt((X - bc[2]) ** 2 + (Y - bc[1]) ** 2 + dz ** 2)
    bone = dist <= brad
    cortex = bone & (dist > brad - 1.6)
    organ &= ~bone

    img = rng.normal(-1000.0, 25.0, shape)
    img[body] = rng.normal(-90.0, 25.0, int(body.sum()))
    organ_mean = rng.uniform(50.0, 70.0)
    img[organ] = rng.normal(organ_mean, 10.0, int(organ.sum()))
    marrow = bone & ~cortex
    img[marrow] = rng.normal(rng.uniform(300.0, 450.0), 40.0, int(marrow.sum()))
    img[cortex] = rng.normal(rng.uniform(900.0, 1150.0), 40.0, int(cortex.sum()))

    fg_idx = np.flatnonzero(organ | bone)
    n_bright = max(3, int(0.002 * fg_idx.size))
    n_dark = max(2, int(0.0015 * fg_idx.size))
    pick = rng.choice(fg_idx, n_bright + n_dark, replace=False)
    flat = img.reshape(-1)
    flat[pick[:n_bright]] = rng.uniform(1800.0, 3000.0, n_bright)
    flat[pick[n_bright:]] = rng.uniform(-400.0, -250.0, n_dark)

    img = np.clip(np.round(img), -1024, 3071).astype(np.int16)
    if zero_frame:
        # scanner padding outside the reconstruction field of view, stored as exact zeros: v1's nonzero crop
        # removes it (crop_bbox != whole image) and pastes the prediction back into the full grid
        img[:, :, :2] = 0
        img[:, -2:, :] = 0
    seg = np.zeros(shape, np.uint8)
    seg[organ] = 1
    seg[bone] = 2
    return img, seg


def write_nifti(arr, path, spacing_xyz, origin_xyz, direction):
    im = sitk.GetImageFromArray(arr)
    im.SetSpacing(tuple(float(s) for s in spacing_xyz))
    im.SetOrigin(tuple(float(o) for o in origin_xyz))
    im.SetDirection(tuple(float(d) for d in direction))
    sitk.WriteImage(im, path)


def make_raw_task(work, seed):
    rng = np.random.default_rng(seed)
    raw = os.path.join(work, "nnUNet_raw_data_base", "nnUNet_raw_data", TASK)
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        os.makedirs(os.path.join(raw, sub), exist_ok=True)
    training, test, info, truth = [], [], OrderedDict(), {}
    for i in range(N_TRAIN):
        shape = (int(rng.integers(16, 25)), int(rng.integers(48, 65)), int(rng.integers(48, 65)))
        sxy = round(float(rng.uniform(0.7, 0.9)), 4)
        spacing = (sxy, sxy, round(float(rng.uniform(3.5, 5.0)), 2))
        origin = (round(float(rng.uniform(-40, -10)), 3), round(float(rng.uniform(-220, -150)), 3),
                  round(float(rng.uniform(-600, -100)), 3))
        direction = (1, 0, 0, 0, -1, 0, 0, 0, 1) if i == TRAIN_FLIPPED_Y else (1, 0, 0, 0, 1, 0, 0, 0, 1)
        img, seg = phantom(np.random.default_rng([seed, i]), shape, spacing)
        name = "%s_%03d" % (PREFIX, i)
        write_nifti(img, os.path.join(raw, "imagesTr", name + "_0000.nii.gz"), spacing, origin, direction)
        write_nifti(seg, os.path.join(raw, "labelsTr", name + ".nii.gz"), spacing, origin, direction)
        training.append({"image": "./imagesTr/%s.nii.gz" % name, "label": "./labelsTr/%s.nii.gz" % name})
        info[name] = dict(shape_zyx=list(shape), spacing_xyz=list(spacing), origin_xyz=list(origin),
                          direction=list(direction), label_counts=counts(seg))
    for i, tc in enumerate(TEST_CASES):
        origin = (round(float(rng.uniform(-40, -10)), 3), round(float(rng.uniform(-220, -150)), 3),
                  round(float(rng.uniform(-600, -100)), 3))
        img, seg = phantom(np.random.default_rng([seed, 100 + i]), tc["shape"], tc["spacing"], tc["zero_frame"])
        name = "%s_ts%03d" % (PREFIX, i)
        write_nifti(img, os.path.join(raw, "imagesTs", name + "_0000.nii.gz"), tc["spacing"], origin,
                    tc["direction"])
        test.append("./imagesTs/%s.nii.gz" % name)
        truth[name] = (img, seg)
        info[name] = dict(shape_zyx=list(tc["shape"]), spacing_xyz=list(tc["spacing"]), origin_xyz=list(origin),
                          direction=list(tc["direction"]), zero_frame=tc["zero_frame"],
                          phantom_label_counts=counts(seg))
    dataset = OrderedDict([
        ("name", "CTSpheres"),
        ("description", "Synthetic CT phantoms (Hounsfield units) for the Swift nnU-Net test fixture v1_ct_model"),
        ("tensorImageSize", "4D"),
        ("reference", "synthetic, generated by Tests/Fixtures/v1_ct_model/make_fixture.py"),
        ("licence", "CC0"),
        ("release", "1.0"),
        ("modality", OrderedDict([("0", "CT")])),
        ("labels", LABELS),
        ("numTraining", len(training)),
        ("numTest", len(test)),
        ("training", training),
        ("test", test),
    ])
    with open(os.path.join(raw, "dataset.json"), "w") as f:
        json.dump(dataset, f, indent=4)
    shutil.copytree(os.path.join(raw, "imagesTs"), os.path.join(work, "imagesTs"))
    return raw, info, truth


def counts(seg):
    u, c = np.unique(seg, return_counts=True)
    return {str(int(k)): int(v) for k, v in zip(u, c)}


# ----------------------------------------------------------------------------------------------------------------
# running v1
# ----------------------------------------------------------------------------------------------------------------

def v1_env(threads, procs):
    env = dict(os.environ)
    env.update({
        "nnUNet_raw_data_base": "nnUNet_raw_data_base",
        "nnUNet_preprocessed": "nnUNet_preprocessed",
        "RESULTS_FOLDER": "RESULTS_FOLDER",
        "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "nnUNet_n_proc_DA": str(procs),
        "nnUNet_def_n_proc": str(procs),
        "PYTHONHASHSEED": "0",
    })
    return env


def run_v1(work, log_name, code, threads, procs, nice):
    """Runs `python -c code` in `work` with the relative nnU-Net path variables; output goes to logs/<log_name>."""
    os.makedirs(os.path.join(work, "logs"), exist_ok=True)
    log = os.path.join(work, "logs", log_name)
    t0 = time.time()
    with open(log, "w") as f:
        p = subprocess.run([sys.executable, "-c", code], cwd=work, env=v1_env(threads, procs), stdout=f,
                           stderr=subprocess.STDOUT, preexec_fn=(lambda: os.nice(nice)) if nice else None)
    dt = time.time() - t0
    if p.returncode != 0:
        with open(log) as f:
            sys.stderr.write(f.read()[-6000:])
        raise SystemExit("v1 step %s failed (rc %d), log: %s" % (log_name, p.returncode, log))
    print("  %s: %.1f s" % (log_name, dt), flush=True)
    return dt


def entry_point_code(module, argv, prelude=""):
    return (
        "import sys, contextlib, io\n"
        "%s\n"
        "from %s import main\n"
        "sys.argv = %r\n"
        "main()\n" % (prelude, module, argv)
    )


def train_prelude(threads, epochs, batches, val_batches, seed):
    # the one change to v1: a shorter schedule; the trainer class (and so its name in the checkpoint) stays stock
    return (
        "import numpy as np, torch\n"
        "torch.set_num_threads(%d)\n"
        "np.random.seed(%d); torch.manual_seed(%d)\n"
        "from nnunet.training.network_training.nnUNetTrainerV2 import nnUNetTrainerV2\n"
        "_stock_init = nnUNetTrainerV2.__init__\n"
        "def _short_init(self, *a, **k):\n"
        "    _stock_init(self, *a, **k)\n"
        "    self.max_num_epochs = %d\n"
        "    self.num_batches_per_epoch = %d\n"
        "    self.num_val_batches_per_epoch = %d\n"
        "nnUNetTrainerV2.__init__ = _short_init\n" % (threads, seed, seed, epochs, batches, val_batches)
    )


def to_jsonable(o):
    if isinstance(o, dict):
        return {str(k): to_jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [to_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return to_jsonable(o.tolist())
    if isinstance(o, (np.bool_, bool)):
        return bool(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, (np.floating, float)):
        return float(o) if np.isfinite(o) else None
    return o


def edit_plans(plans_file, base_features, patch):
    with open(plans_file, "rb") as f:
        plans = pickle.load(f)
    stage = max(plans["plans_per_stage"].keys())
    sp = plans["plans_per_stage"][stage]
    pools = np.array(sp["pool_op_kernel_sizes"])
    divisor = np.prod(pools, 0)
    old_patch = np.array(sp["patch_size"])
    new_patch = np.array(patch, dtype=old_patch.dtype)
    assert np.all(new_patch % divisor == 0), "patch %s not divisible by %s" % (new_patch, divisor)
    assert np.all(new_patch <= old_patch), "patch must not grow"
    record = OrderedDict(
        plans_file="nnUNet_preprocessed/%s/%s_plans_3D.pkl" % (TASK, PLANS_ID),
        stage=int(stage),
        before=OrderedDict(base_num_features=int(plans["base_num_features"]), patch_size=old_patch.tolist(),
                           patch_size_type="ndarray %s" % old_patch.dtype),
        after=OrderedDict(base_num_features=int(base_features), patch_size=new_patch.tolist(),
                          bottleneck_feature_map=(new_patch / divisor).tolist()),
    )
    plans["base_num_features"] = int(base_features)
    sp["patch_size"] = new_patch
    with open(plans_file, "wb") as f:
        pickle.dump(plans, f)  # what batchgenerators' save_pickle does
    return record


# ----------------------------------------------------------------------------------------------------------------
# checks and bookkeeping
# ----------------------------------------------------------------------------------------------------------------

def file_texts(path):
    """The raw bytes of a file plus, for gzip and zip files, their decompressed members."""
    with open(path, "rb") as f:
        raw = f.read()
    out = [raw]
    if raw[:2] == b"\x1f\x8b":
        out.append(gzip.decompress(raw))
    if raw[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            out.extend(z.read(n) for n in z.namelist())
    return out


def absolute_path_needles(work, out):
    """The absolute paths that must not appear in the fixture: the work and output folders, this script's folder,
    the interpreter's prefix, the home folder and the temporary folder."""
    return sorted({work, os.path.realpath(work), out, HERE, sys.prefix, os.path.expanduser("~"),
                   tempfile.gettempdir() + os.sep})


def absolute_path_hits(folder, needles):
    hits = []
    for root, _, files in os.walk(folder):
        for fn in files:
            p = os.path.join(root, fn)
            for blob in file_texts(p):
                for n in needles:
                    if n.encode() in blob:
                        hits.append((os.path.relpath(p, folder), n))
    return sorted(set(hits))


def dice(a, b):
    s = int(a.sum()) + int(b.sum())
    return round(2.0 * int((a & b).sum()) / s, 4) if s else None


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def analyse(out, info, truth, logs_text):
    """expected.json: per case and mode the labels, geometry and v1's properties; plus the key plan fields."""
    from nnunet.network_architecture.neural_network import SegmentationNetwork
    from nnunet.preprocessing.preprocessing import get_do_separate_z

    tdir = os.path.join(out, "results", "nnUNet", "3d_fullres", TASK, TRAINER_DIR)
    with open(os.path.join(tdir, "plans.pkl"), "rb") as f:
        plans = pickle.load(f)
    stage = max(plans["plans_per_stage"].keys())
    sp = plans["plans_per_stage"][stage]
    patch = [int(v) for v in sp["patch_size"]]
    ip = plans["dataset_properties"]["intensityproperties"][0]
    exp = OrderedDict()
    exp["task"] = TASK
    exp["plans"] = OrderedDict(
        stage=int(stage), num_stages=len(plans["plans_per_stage"]),
        normalization_schemes=to_jsonable(plans["normalization_schemes"]),
        use_mask_for_norm=to_jsonable(plans["use_mask_for_norm"]),
        transpose_forward=to_jsonable(plans["transpose_forward"]),
        transpose_backward=to_jsonable(plans["transpose_backward"]),
        base_num_features=int(plans["base_num_features"]),
        patch_size=patch, batch_size=int(sp["batch_size"]),
        current_spacing=to_jsonable(sp["current_spacing"]), original_spacing=to_jsonable(sp["original_spacing"]),
        median_patient_size_in_voxels=to_jsonable(sp["median_patient_size_in_voxels"]),
        num_pool_per_axis=to_jsonable(sp["num_pool_per_axis"]),
        pool_op_kernel_sizes=to_jsonable(sp["pool_op_kernel_sizes"]),
        conv_kernel_sizes=to_jsonable(sp["conv_kernel_sizes"]),
        do_dummy_2D_data_aug=bool(sp["do_dummy_2D_data_aug"]),
        segmentation_export_params=to_jsonable(plans.get("segmentation_export_params")),
    )
    exp["intensityproperties_0"] = OrderedDict(
        (k, to_jsonable(ip[k])) for k in ("mean", "sd", "percentile_00_5", "percentile_99_5", "median", "mn", "mx"))
    exp["training_cases"] = {k: v for k, v in info.items() if "_ts" not in k}
    cases = OrderedDict()
    for name in sorted(k for k in info if "_ts" in k):
        c = OrderedDict()
        c["input"] = info[name]
        img, gt = truth[name]
        modes = OrderedDict()
        segs = {}
        for mode in ("tta", "notta"):
            d = os.path.join(out, "pred_" + mode)
            im = sitk.ReadImage(os.path.join(d, name + ".nii.gz"))
            arr = sitk.GetArrayFromImage(im)
            segs[mode] = arr
            with zipfile.ZipFile(os.path.join(d, name + ".npz")) as z:
                npz_raw = z.read("softmax.npy")
            sm = np.load(os.path.join(d, name + ".npz"))["softmax"]
            with open(os.path.join(d, name + ".pkl"), "rb") as f:
                props = pickle.load(f)
            # where the argmax of the float16 npz (pasted into the crop box) disagrees with the NIfTI labels
            bb = props["crop_bbox"]
            full = np.zeros(arr.shape, np.uint8)
            full[bb[0][0]:bb[0][1], bb[1][0]:bb[1][1], bb[2][0]:bb[2][1]] = sm.argmax(0)
            modes[mode] = OrderedDict(
                shape_zyx=list(arr.shape), dtype=str(arr.dtype), label_counts=counts(arr),
                sha256_labels_zyx_uint8=sha256(np.ascontiguousarray(arr).tobytes()),
                itk_spacing=list(im.GetSpacing()), itk_origin=list(im.GetOrigin()),
                itk_direction=list(im.GetDirection()),
                dice_vs_phantom=OrderedDict((str(k), dice(arr == k, gt == k)) for k in (1, 2)),
                npz_softmax=OrderedDict(shape=list(sm.shape), dtype=str(sm.dtype), sha256_npy=sha256(npz_raw),
                                        argmax_voxels_differing_from_nifti=int((full != arr).sum())),
            )
            if mode == "tta":
                c["properties"] = to_jsonable(props)
        bb = c["properties"]["crop_bbox"]
        inside = img[bb[0][0]:bb[0][1], bb[1][0]:bb[1][1], bb[2][0]:bb[2][1]]
        c["clipping_in_crop_box"] = OrderedDict(
            voxels=int(inside.size), below_percentile_00_5=int((inside < ip["percentile_00_5"]).sum()),
            above_percentile_99_5=int((inside > ip["percentile_99_5"]).sum()))
        pre = [int(v) for v in c["properties"]["size_after_resampling"]]
        padded = [max(a, b) for a, b in zip(pre, patch)]
        steps = SegmentationNetwork._compute_steps_for_sliding_window(patch, padded, 0.5)
        orig_sp = np.array(c["properties"]["original_spacing"])
        c["resampling"] = OrderedDict(
            original_spacing_zyx=orig_sp.tolist(),
            anisotropy_max_over_min=float(orig_sp.max() / orig_sp.min()),
            separate_z_by_v1_rule=bool(get_do_separate_z(orig_sp)),
            size_after_cropping=c["properties"]["size_after_cropping"],
            size_after_resampling=pre,
            input_resampled=[int(v) for v in c["properties"]["size_after_cropping"]] !=
                            [pre[i] for i in to_jsonable(plans["transpose_backward"])],
        )
        c["sliding_window"] = OrderedDict(padded_shape=padded, steps=to_jsonable(steps),
                                          tiles=int(np.prod([len(s) for s in steps])))
        c["modes"] = modes
        c["voxels_differing_tta_vs_notta"] = int((segs["tta"] != segs["notta"]).sum())
        cases[name] = c
    exp["test_cases"] = cases
    exp["log_evidence"] = logs_text
    return exp



# ----------------------------------------------------------------------------------------------------------------
# --raw-only / --planning-reference: the raw training task and v1's planning outputs for it (no training)
# ----------------------------------------------------------------------------------------------------------------

def same_pickled(a, b, path="plans"):
    """Field-by-field differences between two unpickled v1 objects: the same types (np.float32 vs float counts),
    dict keys in the same order, arrays with the same dtype, shape and values (NaN equal to NaN)."""
    if type(a) is not type(b):
        return ["%s: type %s vs %s" % (path, type(a).__name__, type(b).__name__)]
    if isinstance(a, dict):
        if list(a.keys()) != list(b.keys()):
            return ["%s: keys %s vs %s" % (path, list(a.keys()), list(b.keys()))]
        return [d for k in a for d in same_pickled(a[k], b[k], "%s[%r]" % (path, k))]
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return ["%s: %d vs %d entries" % (path, len(a), len(b))]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same_pickled(x, y, "%s[%d]" % (path, i))]
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
            return ["%s: array %s %s vs %s %s" % (path, a.dtype, a.shape, b.dtype, b.shape)]
        return []
    if isinstance(a, (float, np.floating)) and np.isnan(a) and np.isnan(b):
        return []
    return [] if a == b else ["%s: %r vs %r" % (path, a, b)]


def planning_reference(args, work):
    """Writes the raw training task into <out>/raw/<task> (--raw-only stops there). With --planning-reference it then
    runs v1's plan_and_preprocess on it in `work`, checks that the plans equal the stored
    nnUNetPlansv2.1_plans_3D.pkl field for field and stores v1's fingerprint pickles and one preprocessed case."""
    out = os.path.abspath(args.out)
    raw, info, _ = make_raw_task(work, args.seed)
    # the regenerated data must be what the stored model was planned / tested on
    for fn in sorted(os.listdir(os.path.join(raw, "imagesTs"))):
        with open(os.path.join(raw, "imagesTs", fn), "rb") as f, open(os.path.join(out, "imagesTs", fn), "rb") as g:
            assert f.read() == g.read(), "regenerated %s differs from the stored one" % fn
    with open(os.path.join(raw, "dataset.json"), "rb") as f, open(os.path.join(out, "dataset.json"), "rb") as g:
        assert f.read() == g.read(), "regenerated dataset.json differs from the stored one"
    with open(os.path.join(out, "expected.json")) as f:
        stored = json.load(f)["training_cases"]
    assert to_jsonable({k: v for k, v in info.items() if "_ts" not in k}) == stored, "training cases differ"
    print("  regenerated test images and dataset.json are byte-identical to the stored ones", flush=True)
    dst = os.path.join(out, "raw", TASK)
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    for sub in ("imagesTr", "labelsTr"):
        shutil.copytree(os.path.join(raw, sub), os.path.join(dst, sub))
    shutil.copy2(os.path.join(raw, "dataset.json"), dst)
    print("  wrote", os.path.relpath(dst, os.getcwd()), flush=True)
    if args.raw_only:
        return

    argv = ["nnUNet_plan_and_preprocess", "-t", str(TASK_ID), "--verify_dataset_integrity", "-tl", "1", "-tf", "1",
            "-pl2d", "None"]
    run_v1(work, "plan_and_preprocess.txt",
           entry_point_code("nnunet.experiment_planning.nnUNet_plan_and_preprocess", argv),
           args.threads, args.procs, args.nice)
    pre = os.path.join(work, "nnUNet_preprocessed", TASK)
    cropped = os.path.join(work, "nnUNet_raw_data_base", "nnUNet_cropped_data", TASK)
    with open(os.path.join(pre, PLANS_ID + "_plans_3D.pkl"), "rb") as f:
        new_bytes = f.read()
    with open(os.path.join(out, PLANS_ID + "_plans_3D.pkl"), "rb") as f:
        old_bytes = f.read()
    diff = same_pickled(pickle.loads(new_bytes), pickle.loads(old_bytes))
    if diff:
        raise SystemExit("the regenerated task plans differently:\n  " + "\n  ".join(diff[:20]))
    print("  plans equal the stored nnUNetPlansv2.1_plans_3D.pkl field for field (bytes %s)"
          % ("identical" if new_bytes == old_bytes else "differ"), flush=True)
    dst = os.path.join(out, "planning")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    for fn in ("dataset_properties.pkl", "intensityproperties.pkl"):
        shutil.copy2(os.path.join(cropped, fn), dst)
    with open(os.path.join(cropped, "dataset_properties.pkl"), "rb") as f, \
            open(os.path.join(pre, "dataset_properties.pkl"), "rb") as g:
        assert f.read() == g.read(), "the preprocessed folder's dataset_properties.pkl is not v1's copy"
    stage = os.path.join(pre, "nnUNetData_plans_v2.1_stage0")
    os.makedirs(os.path.join(dst, "nnUNetData_plans_v2.1_stage0"))
    for fn in (args.preprocessed_case + ".npz", args.preprocessed_case + ".pkl"):
        shutil.copy2(os.path.join(stage, fn), os.path.join(dst, "nnUNetData_plans_v2.1_stage0"))
    needles = absolute_path_needles(work, out)
    hits = absolute_path_hits(dst, needles) + absolute_path_hits(os.path.join(out, "raw"), needles)
    if hits:
        raise SystemExit("absolute paths found: %s" % hits)
    for root, _, files in sorted(os.walk(os.path.join(out, "raw"))) + sorted(os.walk(dst)):
        for fn in sorted(files):
            p = os.path.join(root, fn)
            print("  %8d  %s" % (os.path.getsize(p), os.path.relpath(p, out)))


def lowres_reference(args, work):
    """--lowres-fraction F: v1's 3D planner on the raw training task with its instance attribute
    how_much_of_a_patient_must_the_network_see_at_stage0 set to F (the FAQ's knob for a 3d_lowres stage on smaller
    data; 4 by default, which makes none here). Stores the plans pickle as planning/plans_3D_stage0_fraction_F.pkl."""
    out = os.path.abspath(args.out)
    make_raw_task(work, args.seed)
    prelude = (
        "import nnunet.experiment_planning.experiment_planner_baseline_3DUNet_v21 as planner_module\n"
        "_original_init = planner_module.ExperimentPlanner3D_v21.__init__\n"
        "def _init(self, *a, **k):\n"
        "    _original_init(self, *a, **k)\n"
        "    self.how_much_of_a_patient_must_the_network_see_at_stage0 = %r\n"
        "planner_module.ExperimentPlanner3D_v21.__init__ = _init\n" % args.lowres_fraction)
    argv = ["nnUNet_plan_and_preprocess", "-t", str(TASK_ID), "-tl", "1", "-tf", "1", "-pl2d", "None", "-no_pp"]
    run_v1(work, "plan_lowres.txt", entry_point_code("nnunet.experiment_planning.nnUNet_plan_and_preprocess", argv,
                                                     prelude), args.threads, args.procs, args.nice)
    pre = os.path.join(work, "nnUNet_preprocessed", TASK)
    with open(os.path.join(pre, PLANS_ID + "_plans_3D.pkl"), "rb") as f:
        plans = pickle.load(f)
    print("  stages:", {k: (list(v["patch_size"]), list(v["current_spacing"])) for k, v in plans["plans_per_stage"].items()})
    dst = os.path.join(out, "planning", "plans_3D_stage0_fraction_%g.pkl" % args.lowres_fraction)
    shutil.copy2(os.path.join(pre, PLANS_ID + "_plans_3D.pkl"), dst)
    print("  wrote", os.path.relpath(dst, os.getcwd()), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=902)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batches", type=int, default=50)
    ap.add_argument("--val-batches", type=int, default=5)
    ap.add_argument("--base-features", type=int, default=3)
    ap.add_argument("--patch", type=int, nargs=3, default=[16, 48, 48], help="(z', y', x') in the transposed order")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch / OpenMP threads per process (1 is much faster than 2 on a busy 2-core machine)")
    ap.add_argument("--procs", type=int, default=2, help="nnUNet_n_proc_DA and nnUNet_def_n_proc")
    ap.add_argument("--nice", type=int, default=10)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--work", default=None, help="use this (empty) folder instead of a temporary one and keep it")
    ap.add_argument("--stop-after-plan", action="store_true", help="only generate data and plan; print the plans")
    ap.add_argument("--raw-only", action="store_true",
                    help="only regenerate the raw training task (imagesTr, labelsTr, dataset.json) into "
                         "<out>/raw/%s, after checking it against the stored files; no planning, no training" % TASK)
    ap.add_argument("--planning-reference", action="store_true",
                    help="--raw-only, then v1's plan_and_preprocess on it: check the plans against the stored "
                         "pickle and store v1's fingerprint pickles and one preprocessed case in <out>/planning")
    ap.add_argument("--lowres-fraction", type=float, default=None,
                    help="only plan the raw training task with v1's 3D planner and this "
                         "how_much_of_a_patient_must_the_network_see_at_stage0; store the plans in planning/")
    ap.add_argument("--preprocessed-case", default="%s_005" % PREFIX,
                    help="the case of the 3d_fullres stage stored by --planning-reference")
    args = ap.parse_args()

    work = os.path.abspath(args.work) if args.work else tempfile.mkdtemp(prefix="v1ct_")
    os.makedirs(work, exist_ok=True)
    print("work folder:", work, flush=True)
    timings = OrderedDict()

    if args.lowres_fraction is not None:
        lowres_reference(args, work)
        if not args.work:
            shutil.rmtree(work)
        return
    if args.raw_only or args.planning_reference:
        planning_reference(args, work)
        if not args.work:
            shutil.rmtree(work)
        return

    # 1. raw data
    raw, info, truth = make_raw_task(work, args.seed)

    # 2. plan and preprocess (3D only)
    argv = ["nnUNet_plan_and_preprocess", "-t", str(TASK_ID), "--verify_dataset_integrity", "-tl", "1", "-tf", "1",
            "-pl2d", "None"]
    timings["plan_and_preprocess"] = run_v1(
        work, "plan_and_preprocess.txt",
        entry_point_code("nnunet.experiment_planning.nnUNet_plan_and_preprocess", argv),
        args.threads, args.procs, args.nice)
    plans_file = os.path.join(work, "nnUNet_preprocessed", TASK, PLANS_ID + "_plans_3D.pkl")
    with open(plans_file, "rb") as f:
        pristine_plans_bytes = f.read()
    plans = pickle.loads(pristine_plans_bytes)
    sp = plans["plans_per_stage"][max(plans["plans_per_stage"].keys())]
    print("  planned:", {k: to_jsonable(sp[k]) for k in ("patch_size", "current_spacing", "pool_op_kernel_sizes",
                                                           "conv_kernel_sizes", "batch_size")},
          "transpose_forward", to_jsonable(plans["transpose_forward"]), flush=True)
    if args.stop_after_plan:
        return

    # 3. edit the plans (default identifier kept)
    patch = args.patch
    if patch is None:
        raise SystemExit("give --patch (see the planned values above)")
    edit = edit_plans(plans_file, args.base_features, patch)

    # 4. train fold 0 with a short schedule
    argv = ["nnUNet_train", "3d_fullres", "nnUNetTrainerV2", str(TASK_ID), "0", "--fp32"]
    timings["train"] = run_v1(
        work, "train.txt",
        entry_point_code("nnunet.run.run_training", argv,
                         train_prelude(args.threads, args.epochs, args.batches, args.val_batches, args.seed)),
        args.threads, args.procs, args.nice)

    # 5. predict with and without TTA
    for mode, extra in (("tta", []), ("notta", ["--disable_tta"])):
        argv = ["nnUNet_predict", "-i", "imagesTs", "-o", "pred_" + mode, "-t", str(TASK_ID), "-m", "3d_fullres",
                "-f", "0", "--save_npz"] + extra
        timings["predict_" + mode] = run_v1(
            work, "predict_%s.txt" % mode,
            entry_point_code("nnunet.inference.predict_simple", argv, "import torch; torch.set_num_threads(%d)"
                             % args.threads), args.threads, args.procs, args.nice)

    # 6. copy into the fixture folder
    out = os.path.abspath(args.out)
    for sub in ("results", "imagesTs", "pred_tta", "pred_notta"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    src_tr = os.path.join(work, "RESULTS_FOLDER", "nnUNet", "3d_fullres", TASK, TRAINER_DIR)
    dst_tr = os.path.join(out, "results", "nnUNet", "3d_fullres", TASK, TRAINER_DIR)
    os.makedirs(os.path.join(dst_tr, "fold_0"))
    shutil.copy2(os.path.join(src_tr, "plans.pkl"), dst_tr)
    for fn in ("model_final_checkpoint.model", "model_final_checkpoint.model.pkl"):
        shutil.copy2(os.path.join(src_tr, "fold_0", fn), os.path.join(dst_tr, "fold_0"))
    shutil.copytree(os.path.join(work, "imagesTs"), os.path.join(out, "imagesTs"))
    for mode in ("tta", "notta"):
        os.makedirs(os.path.join(out, "pred_" + mode))
        for fn in sorted(os.listdir(os.path.join(work, "pred_" + mode))):
            if fn.endswith((".nii.gz", ".npz", ".pkl")) and fn != "plans.pkl":
                shutil.copy2(os.path.join(work, "pred_" + mode, fn), os.path.join(out, "pred_" + mode))
    shutil.copy2(os.path.join(raw, "dataset.json"), out)
    with open(os.path.join(out, PLANS_ID + "_plans_3D.pkl"), "wb") as f:
        f.write(pristine_plans_bytes)  # as nnUNet_plan_and_preprocess wrote it, before the edit
    with open(plans_file, "rb") as f:
        edited = f.read()
    with open(os.path.join(dst_tr, "plans.pkl"), "rb") as f:
        assert f.read() == edited, "results plans.pkl should be v1's copy of the edited plans file"
    with open(os.path.join(out, "plans_edit.json"), "w") as f:
        json.dump(edit, f, indent=1)

    # 7. expected.json
    logs = OrderedDict()
    for mode in ("tta", "notta"):
        with open(os.path.join(work, "logs", "predict_%s.txt" % mode)) as f:
            t = f.read()
        logs["predict_" + mode] = OrderedDict(
            input_separate_z_lines=t.count("separate z, order in z is 0 order inplane is 3"),
            export_separate_z_true_lines=t.count("separate z: True lowres axis [0]"),
            export_no_resampling_lines=t.count("no resampling necessary"),
        )
    exp = analyse(out, info, truth, logs)
    exp["timings_s"] = OrderedDict((k, round(v, 1)) for k, v in timings.items())
    exp["settings"] = OrderedDict(seed=args.seed, epochs=args.epochs, batches_per_epoch=args.batches,
                                  val_batches_per_epoch=args.val_batches, base_num_features=args.base_features,
                                  patch_size=list(patch), threads=args.threads, procs=args.procs)
    from importlib.metadata import version
    exp["versions"] = OrderedDict(python=sys.version.split()[0], **{p: version(p) for p in (
        "nnunet", "torch", "numpy", "scipy", "scikit-image", "SimpleITK", "batchgenerators")})
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(to_jsonable(exp), f, indent=1)

    # 8. no absolute path anywhere
    needles = absolute_path_needles(work, out)
    generated = [p for p in os.listdir(out) if p not in ("make_fixture.py", "README.md")]
    hits = []
    for p in generated:
        full = os.path.join(out, p)
        if os.path.isdir(full):
            hits += absolute_path_hits(full, needles)
        else:
            hits += [(p, n) for b in file_texts(full) for n in needles if n.encode() in b]
    if hits:
        raise SystemExit("absolute paths found: %s" % hits)
    print("no absolute path in any generated file", flush=True)
    if not args.work:
        shutil.rmtree(work)
    print(json.dumps({k: v for k, v in exp.items() if k in ("plans", "intensityproperties_0", "timings_s")},
                     indent=1))


if __name__ == "__main__":
    main()
