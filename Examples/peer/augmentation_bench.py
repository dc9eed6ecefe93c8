#!/usr/bin/env python3
"""Measurement helper (not part of the package): nnU-Net v1's training data pipeline, single-threaded.

Runs v1's DataLoader3D/DataLoader2D plus the transform list of `get_moreDA_augmentation`, with the parameters
nnUNetTrainerV2.setup_DA_params derives from a plans JSON, on a stage folder of CASE.npy + CASE.json (as written by
`nnunet-benchmark augmentation --synthetic-folder DIR`), in this process (SingleThreadedAugmenter instead of v1's
MultiThreadedAugmenter), and prints one JSON line with batches_per_second. Needs the peer venv (nnunet 1.7.1,
batchgenerators 0.25.5):

    .peer-venv/bin/python Examples/peer/augmentation_bench.py --plans PLANS.json --preprocessed DIR
"""
import argparse
import json
import os
import sys
import time
from copy import deepcopy

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", required=True)
    parser.add_argument("--preprocessed", required=True)
    parser.add_argument("--stage", type=int, default=None)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import torch
    torch.set_num_threads(1)
    from batchgenerators.dataloading.single_threaded_augmenter import SingleThreadedAugmenter
    from nnunet.training.data_augmentation import data_augmentation_moreDA as more_da
    from nnunet.training.data_augmentation.default_data_augmentation import (
        default_2D_augmentation_params, default_3D_augmentation_params, get_patch_size)
    from nnunet.training.dataloading.dataset_loading import DataLoader2D, DataLoader3D

    plans = json.load(open(args.plans))
    stage = str(args.stage if args.stage is not None else max(int(k) for k in plans["plans_per_stage"]))
    sp = plans["plans_per_stage"][stage]
    patch = np.array(sp["patch_size"])
    three_d = len(patch) == 3
    dummy_2d = bool(sp.get("do_dummy_2D_data_aug", False)) and three_d
    use_mask = {int(k): v for k, v in plans["use_mask_for_norm"].items()}

    # nnUNetTrainerV2.setup_DA_params
    if three_d:
        params = deepcopy(default_3D_augmentation_params)
        for axis in ("rotation_x", "rotation_y", "rotation_z"):
            params[axis] = (-30. / 360 * 2. * np.pi, 30. / 360 * 2. * np.pi)
        if dummy_2d:
            params["dummy_2D"] = True
            params["elastic_deform_alpha"] = default_2D_augmentation_params["elastic_deform_alpha"]
            params["elastic_deform_sigma"] = default_2D_augmentation_params["elastic_deform_sigma"]
            params["rotation_x"] = default_2D_augmentation_params["rotation_x"]
    else:
        params = deepcopy(default_2D_augmentation_params)
        if max(patch) / min(patch) > 1.5:
            params["rotation_x"] = (-15. / 360 * 2. * np.pi, 15. / 360 * 2. * np.pi)
    params["mask_was_used_for_normalization"] = use_mask
    if dummy_2d:
        basic = get_patch_size(patch[1:], params["rotation_x"], params["rotation_y"], params["rotation_z"],
                               params["scale_range"])
        basic = np.array([patch[0]] + list(basic))
    else:
        basic = get_patch_size(patch, params["rotation_x"], params["rotation_y"], params["rotation_z"],
                               params["scale_range"])
    params["scale_range"] = (0.7, 1.4)
    params["do_elastic"] = False
    params["selected_seg_channels"] = [0]
    params["patch_size_for_spatialtransform"] = patch
    pools = sp.get("pool_op_kernel_sizes") or []
    ds_scales = [[1] * len(patch)] + list(list(i) for i in 1 / np.cumprod(np.vstack(pools), axis=0))[:-1] \
        if pools else None

    # The stage folder: v1's dataset dict with properties in memory and .npy files (memory-mapped by the loader).
    folder = args.preprocessed
    dataset = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".npy") and os.path.isfile(os.path.join(folder, name[:-4] + ".json")):
            key = name[:-4]
            props = json.load(open(os.path.join(folder, key + ".json")))
            locations = {int(k): np.array(v, dtype=np.int64).reshape(-1, 3)
                         for k, v in props.get("class_locations", {}).items()}
            dataset[key] = {"data_file": os.path.join(folder, key + ".npz"),
                            "properties": {"class_locations": locations}}
    batch_size = sp["batch_size"]
    if three_d:
        loader = DataLoader3D(dataset, basic, patch, batch_size, False, oversample_foreground_percent=0.33,
                              pad_mode="constant", memmap_mode="r")
    else:
        loader = DataLoader2D(dataset, basic, patch, batch_size, oversample_foreground_percent=0.33,
                              pad_mode="constant", memmap_mode="r")

    # get_moreDA_augmentation, with the augmenters run in this process.
    more_da.MultiThreadedAugmenter = lambda data_loader, transform, *a, **k: SingleThreadedAugmenter(data_loader,
                                                                                                     transform)
    np.random.seed(args.seed)
    train, _ = more_da.get_moreDA_augmentation(loader, loader, patch, params, deep_supervision_scales=ds_scales,
                                               pin_memory=False)
    for _ in range(args.warmup):
        next(train)
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(args.batches):
        next(train)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(json.dumps({"peer": "batchgenerators get_moreDA_augmentation (single-threaded)",
                      "batches_per_second": args.batches / elapsed, "cpu_batches_per_second": args.batches / cpu,
                      "batches": args.batches,
                      "batch_size": batch_size, "patch_size": patch.tolist(), "basic_patch_size": basic.tolist()}))


if __name__ == "__main__":
    sys.exit(main())
