#!/usr/bin/env python
"""Reproduce the small nnU-Net v2 golden fixtures (Tests/Fixtures/v2_models).

usage: python make_v2_models.py RAW_TASK901_DIR WORK_DIR [STEP ...]

RAW_TASK901_DIR: the v1 Task901_Spheres raw folder (imagesTr, labelsTr, imagesTs), e.g.
                 ../shared/reference/Task901_Spheres/raw
WORK_DIR:        a scratch folder; everything is made below it, the finished fixtures in WORK_DIR/fixtures
STEP:            any of prep plan train predict postprocessing collect (default: all, in that order)

Needs nnunetv2 2.8.1 (+ dynamic_network_architectures 0.4.4, torch CPU) in the running interpreter's
environment; its nnUNetv2_* entry points must be next to sys.executable. The trainer
nnUNetTrainer_goldenTiny (nnUNetTrainer_goldenTiny.py next to this script) is copied into
nnunetv2/training/nnUNetTrainer/variants/golden/ of that installation so that nnUNetv2_train finds it.
Training is not bit-reproducible: a rerun makes different weights and predictions.
"""
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from os.path import join, dirname, abspath, isdir, isfile

import numpy as np
import nibabel as nib

HERE = dirname(abspath(__file__))
BIN = dirname(sys.executable)

CROP = (32, 40, 32)                     # central box, voxels
TRAIN_CASES = [f'spheres_{i:03d}' for i in range(10)]   # 10 training cases
TEST_CASES = ['spheres_ts000', 'spheres_ts001']         # 2 test cases (from imagesTs)
# spheres_ts000: the central 32x40x32 box like the training cases.
# spheres_ts001: a 20x24x20 box starting at the corner of its central 32x40x32 box (background, shell and core;
# smaller than every patch, so the sliding window pads). Its probabilities are the ones kept (small .npz).
TEST_BOXES = {'spheres_ts000': (32, 40, 32), 'spheres_ts001': (20, 24, 20)}
NPZ_CASE = 'spheres_ts001'              # the one case whose .npz/.pkl probabilities are kept
TRAINER = 'nnUNetTrainer_goldenTiny'

DS_SMALL = (910, 'Dataset910_SpheresSmall')      # MRI, labels 0/1/2: resenc, 2d, cascade
DS_REGIONS = (911, 'Dataset911_SpheresRegions')  # region based: whole = [1, 2], core = 2
DS_CT = (912, 'Dataset912_SpheresCT')            # channel CT (CTNormalization): ct, postprocessing

# model name -> (dataset, plans identifier, configuration)
MODELS = {
    'resenc': (DS_SMALL, 'nnUNetResEncUNetMPlans', '3d_fullres'),
    'regions': (DS_REGIONS, 'nnUNetPlans', '3d_fullres'),
    'ct': (DS_CT, 'nnUNetPlans', '3d_fullres'),
    '2d': (DS_SMALL, 'nnUNetPlans', '2d'),
    'cascade_lowres': (DS_SMALL, 'nnUNetPlans', '3d_lowres'),
    'cascade': (DS_SMALL, 'nnUNetPlans', '3d_cascade_fullres'),
}


def env(work, **extra):
    e = dict(os.environ)
    e.update(nnUNet_raw=join(work, 'nnUNet_raw'), nnUNet_preprocessed=join(work, 'nnUNet_preprocessed'),
             nnUNet_results=join(work, 'nnUNet_results'), nnUNet_compile='f', nnUNet_n_proc_DA='0',
             OMP_NUM_THREADS='2', nnUNet_def_n_proc='1')
    e.update(extra)
    return e


def run(work, *cmd, **extra_env):
    cmd = [join(BIN, cmd[0])] + [str(c) for c in cmd[1:]]
    print('+', ' '.join(cmd), flush=True)
    t0 = time.time()
    subprocess.run(cmd, env=env(work, **extra_env), check=True)
    dt = round(time.time() - t0, 2)
    print(f'  ({dt} s)', flush=True)
    return dt


def load_json(p):
    with open(p) as f:
        return json.load(f)


def save_json(o, p):
    with open(p, 'w') as f:
        json.dump(o, f, indent=2)


# ----------------------------------------------------------------------------------------------------------------
# prep: crop the images to a central box, write the three v2 raw datasets and the test images
# ----------------------------------------------------------------------------------------------------------------
def crop_nifti(src, dst, size=CROP):
    """crop to a box of `size` voxels that starts where the central CROP box starts"""
    img = nib.load(src)
    data = np.asarray(img.dataobj)
    start = [(s - c) // 2 for s, c in zip(data.shape, CROP)]
    assert all(s >= 0 for s in start), (src, data.shape)
    sl = tuple(slice(s, s + c) for s, c in zip(start, size))
    cropped = np.ascontiguousarray(data[sl])
    aff = img.affine.copy()
    aff[:3, 3] = img.affine[:3, :3] @ np.array(start, dtype=float) + img.affine[:3, 3]  # new origin
    hdr = img.header.copy()
    out = nib.Nifti1Image(cropped, aff, header=hdr)
    out.set_qform(aff, code=int(img.header['qform_code']))
    out.set_sform(aff, code=int(img.header['sform_code']))
    out.header.set_zooms(img.header.get_zooms())
    out.set_data_dtype(img.get_data_dtype())
    nib.save(out, dst)


def step_prep(raw_in, work):
    cropped = join(work, 'cropped')
    for sub in ('imagesTr', 'labelsTr', 'imagesTs'):
        os.makedirs(join(cropped, sub), exist_ok=True)
    for c in TRAIN_CASES:
        crop_nifti(join(raw_in, 'imagesTr', c + '_0000.nii.gz'), join(cropped, 'imagesTr', c + '_0000.nii.gz'))
        crop_nifti(join(raw_in, 'labelsTr', c + '.nii.gz'), join(cropped, 'labelsTr', c + '.nii.gz'))
    for c in TEST_CASES:
        crop_nifti(join(raw_in, 'imagesTs', c + '_0000.nii.gz'), join(cropped, 'imagesTs', c + '_0000.nii.gz'),
                   TEST_BOXES[c])

    base = {'file_ending': '.nii.gz', 'numTraining': len(TRAIN_CASES), 'licence': 'CC-BY-SA 4.0',
            'reference': 'synthetic Task901_Spheres, cropped to a central 32x40x32 box'}
    djs = {
        DS_SMALL[1]: dict(channel_names={'0': 'MRI'}, labels={'background': 0, 'shell': 1, 'core': 2},
                          name='SpheresSmall', **base),
        DS_REGIONS[1]: dict(channel_names={'0': 'MRI'}, labels={'background': 0, 'whole': [1, 2], 'core': 2},
                            regions_class_order=[1, 2], name='SpheresRegions', **base),
        DS_CT[1]: dict(channel_names={'0': 'CT'}, labels={'background': 0, 'shell': 1, 'core': 2},
                       name='SpheresCT', **base),
    }
    for ds, dj in djs.items():
        d = join(work, 'nnUNet_raw', ds)
        if isdir(d):
            shutil.rmtree(d)
        shutil.copytree(join(cropped, 'imagesTr'), join(d, 'imagesTr'))
        shutil.copytree(join(cropped, 'labelsTr'), join(d, 'labelsTr'))
        shutil.copytree(join(cropped, 'imagesTs'), join(d, 'imagesTs'))
        save_json(dj, join(d, 'dataset.json'))

    # install the tiny trainer next to nnUNetTrainer.py: nnU-Net finds trainers by name by importing the modules of
    # nnunetv2/training/nnUNetTrainer first and then its sub-packages in alphabetical order; 'primus' comes before
    # 'variants' and fails to import in this environment (timm -> torchvision vs torch 2.13), so a trainer in
    # variants/ would not be found.
    import nnunetv2
    shutil.copy(join(HERE, 'nnUNetTrainer_goldenTiny.py'), join(dirname(nnunetv2.__file__), 'training', 'nnUNetTrainer'))


# ----------------------------------------------------------------------------------------------------------------
# plan: fingerprint, plans, plan edits, preprocessing
# ----------------------------------------------------------------------------------------------------------------
def shrink_features(cfg):
    ak = cfg['architecture']['arch_kwargs']
    old = list(ak['features_per_stage'])
    ak['features_per_stage'] = [min(f // 8, 16) for f in old]
    return old, ak['features_per_stage']


def plans_path(work, ds, plans):
    return join(work, 'nnUNet_preprocessed', ds[1], plans + '.json')


def add_cascade(plans):
    """Add 3d_lowres (2x the 3d_fullres spacing) and 3d_cascade_fullres to nnUNetPlans; 3d_fullres stays as is."""
    fr = plans['configurations']['3d_fullres']
    ak = fr['architecture']['arch_kwargs']
    spacing = [2 * s for s in fr['spacing']]
    median = [int(round(m / 2)) for m in fr['median_image_size_in_voxels']]
    # stages: keep as many as the halved patch allows, each pooling at least 4 voxels per axis at the bottom
    n_stages = ak['n_stages']
    half = [p / 2 for p in fr['patch_size']]
    while n_stages > 1:
        total = 2 ** (n_stages - 1)
        if all(h / total >= 3 for h in half):
            break
        n_stages -= 1
    total = 2 ** (n_stages - 1)
    patch = [int(max(total, round(h / total) * total)) for h in half]
    lak = {
        'n_stages': n_stages,
        'features_per_stage': ak['features_per_stage'][:n_stages],
        'kernel_sizes': [[3, 3, 3]] * n_stages,
        'strides': [[1, 1, 1]] + [[2, 2, 2]] * (n_stages - 1),
        'n_conv_per_stage': ak['n_conv_per_stage'][:n_stages],
        'n_conv_per_stage_decoder': ak['n_conv_per_stage_decoder'][:n_stages - 1],
    }
    lowres = {
        'inherits_from': '3d_fullres',
        'data_identifier': 'nnUNetPlans_3d_lowres',
        'spacing': spacing,
        'median_image_size_in_voxels': median,
        'patch_size': patch,
        'architecture': {'network_class_name': fr['architecture']['network_class_name'],
                         'arch_kwargs': {**ak, **lak},
                         '_kw_requires_import': fr['architecture']['_kw_requires_import']},
        'next_stage': '3d_cascade_fullres',
    }
    plans['configurations']['3d_lowres'] = lowres
    plans['configurations']['3d_cascade_fullres'] = {'inherits_from': '3d_fullres', 'previous_stage': '3d_lowres'}
    return lowres


def step_plan(work):
    edits = {}
    for ds in (DS_SMALL, DS_REGIONS, DS_CT):
        run(work, 'nnUNetv2_extract_fingerprint', '-d', ds[0], '-np', 1, '--verify_dataset_integrity')
        # nnUNet_n_proc_DA=0 would make the planner call torch.set_num_threads(0), which raises
        run(work, 'nnUNetv2_plan_experiment', '-d', ds[0], nnUNet_n_proc_DA='1')
    run(work, 'nnUNetv2_plan_experiment', '-d', DS_SMALL[0], '-pl', 'nnUNetPlannerResEncM', nnUNet_n_proc_DA='1')

    for ds, plans_name in ((DS_SMALL, 'nnUNetPlans'), (DS_SMALL, 'nnUNetResEncUNetMPlans'),
                           (DS_REGIONS, 'nnUNetPlans'), (DS_CT, 'nnUNetPlans')):
        p = plans_path(work, ds, plans_name)
        shutil.copy(p, p.replace('.json', '.orig.json'))
        plans = load_json(p)
        e = {}
        for cname, cfg in plans['configurations'].items():
            if 'architecture' in cfg:
                old, new = shrink_features(cfg)
                e[cname] = {'features_per_stage': [old, new]}
        if plans_name == 'nnUNetResEncUNetMPlans':
            # training-only: the ResEnc M planner picked batch size 10 (3d_fullres); 2 keeps CPU training short
            cfg = plans['configurations']['3d_fullres']
            e['3d_fullres']['batch_size'] = [cfg['batch_size'], 2]
            cfg['batch_size'] = 2
        if ds == DS_SMALL and plans_name == 'nnUNetPlans':
            lowres = add_cascade(plans)
            e['3d_lowres'] = {'added': lowres}
            e['3d_cascade_fullres'] = {'added': plans['configurations']['3d_cascade_fullres']}
        save_json(plans, p)
        edits[f'{ds[1]}/{plans_name}'] = e
    save_json(edits, join(work, 'plans_edits.json'))

    run(work, 'nnUNetv2_preprocess', '-d', DS_SMALL[0], '-plans_name', 'nnUNetPlans',
        '-c', '2d', '3d_fullres', '3d_lowres', '-np', 1, 1, 1)
    run(work, 'nnUNetv2_preprocess', '-d', DS_SMALL[0], '-plans_name', 'nnUNetResEncUNetMPlans',
        '-c', '3d_fullres', '-np', 1)
    for ds in (DS_REGIONS, DS_CT):
        run(work, 'nnUNetv2_preprocess', '-d', ds[0], '-plans_name', 'nnUNetPlans', '-c', '3d_fullres', '-np', 1)


# ----------------------------------------------------------------------------------------------------------------
# train: fold 0 of every model with the tiny trainer (the final validation runs; the cascade needs it)
# ----------------------------------------------------------------------------------------------------------------
def step_train(work, models=None):
    for m in models or MODELS:
        ds, plans, cfg = MODELS[m]
        # 3d_cascade_fullres trains on the lowres predictions of its training cases, which v2 writes to
        # predicted_next_stage/ during the final validation of each lowres fold: all 5 lowres folds are needed
        # (only fold 0 goes into the fixture)
        for fold in ((0, 1, 2, 3, 4) if m == 'cascade_lowres' else (0,)):
            # one OpenMP thread: with 2 threads on a busy 2-core machine the OpenMP barriers stalled training
            run(work, 'nnUNetv2_train', ds[0], cfg, fold, '-tr', TRAINER, '-p', plans, '-device', 'cpu',
                OMP_NUM_THREADS='1')


# ----------------------------------------------------------------------------------------------------------------
# predict: stage the stripped model copies in WORK/fixtures and predict the test images with them
# ----------------------------------------------------------------------------------------------------------------
# fixture name -> the trained models (keys of MODELS) it holds
FIXTURES = {'resenc': ['resenc'], 'regions': ['regions'], 'ct': ['ct'], '2d': ['2d'],
            'cascade': ['cascade_lowres', 'cascade']}


def model_dir_name(m):
    ds, plans, cfg = MODELS[m]
    return join(ds[1], f'{TRAINER}__{plans}__{cfg}')


def stage_model(work, fixture, m):
    """copy dataset.json, plans.json and a stripped fold_0/checkpoint_final.pth into the fixture"""
    import torch
    src = join(work, 'nnUNet_results', model_dir_name(m))
    dst = join(work, 'fixtures', fixture, 'results', model_dir_name(m))
    os.makedirs(join(dst, 'fold_0'), exist_ok=True)
    shutil.copy(join(src, 'dataset.json'), dst)
    shutil.copy(join(src, 'plans.json'), dst)
    ckpt = torch.load(join(src, 'fold_0', 'checkpoint_final.pth'), weights_only=False, map_location='cpu')
    for k in ('optimizer_state', 'grad_scaler_state'):
        del ckpt[k]   # nnUNetPredictor does not read them
    torch.save(ckpt, join(dst, 'fold_0', 'checkpoint_final.pth'))
    return dst


def sanitize_args(work, folder):
    """replace the absolute work path in the args json nnU-Net writes next to its predictions by <work>"""
    p = join(folder, 'predict_from_raw_data_args.json')
    if isfile(p):
        with open(p) as f:
            t = f.read()
        with open(p, 'w') as f:
            f.write(t.replace(abspath(work), '<work>'))


def prune_probabilities(folder):
    for f in os.listdir(folder):
        if f.endswith(('.npz', '.pkl')) and not f.startswith(NPZ_CASE + '.'):
            os.remove(join(folder, f))


def predict(work, model_folder, out, tta, prev=None):
    if isdir(out):
        shutil.rmtree(out)
    cmd = ['nnUNetv2_predict_from_modelfolder', '-i', join(work, 'fixtures', 'images'), '-o', out,
           '-m', model_folder, '-f', 0, '-chk', 'checkpoint_final.pth', '-device', 'cpu', '-npp', 1, '-nps', 1,
           '--save_probabilities', '--disable_progress_bar']
    if not tta:
        cmd.append('--disable_tta')
    if prev is not None:
        cmd += ['-prev_stage_predictions', prev]
    dt = run(work, *cmd)
    return dt


def step_predict(work, fixtures=None):
    img = join(work, 'fixtures', 'images')
    os.makedirs(img, exist_ok=True)
    for c in TEST_CASES:
        shutil.copy(join(work, 'cropped', 'imagesTs', c + '_0000.nii.gz'), img)
    for fx in fixtures or FIXTURES:
        fdir = join(work, 'fixtures', fx)
        staged = {m: stage_model(work, fx, m) for m in FIXTURES[fx]}
        timings = {}
        for mode, tta in (('tta', True), ('notta', False)):
            if fx == 'cascade':
                low = join(fdir, f'pred_lowres_{mode}')
                timings[f'pred_lowres_{mode}'] = predict(work, staged['cascade_lowres'], low, tta)
                out = join(fdir, f'pred_{mode}')
                timings[f'pred_{mode}'] = predict(work, staged['cascade'], out, tta, prev=low)
                folders = [low, out]
            else:
                out = join(fdir, f'pred_{mode}')
                timings[f'pred_{mode}'] = predict(work, staged[fx], out, tta)
                folders = [out]
            for f in folders:
                prune_probabilities(f)
                sanitize_args(work, f)
        timings['note'] = ('wall-clock seconds of each nnUNetv2_predict_from_modelfolder call (2 cases, CPU, '
                           'OMP_NUM_THREADS=2, -npp 1 -nps 1, shared 2-core machine; includes process start-up)')
        save_json(timings, join(fdir, 'timings.json'))


# ----------------------------------------------------------------------------------------------------------------
# postprocessing: with the ct model (its final validation ran during training)
# ----------------------------------------------------------------------------------------------------------------
def step_postprocessing(work, _=None):
    from nnunetv2.postprocessing.remove_connected_components import \
        remove_all_but_largest_component_from_segmentation
    ds, plans, cfg = MODELS['ct']
    run(work, 'nnUNetv2_find_best_configuration', ds[0], '-c', cfg, '-f', 0, '-p', plans, '-tr', TRAINER,
        '--disable_ensembling', '-np', 1, nnUNet_n_proc_DA='1')
    src = join(work, 'nnUNet_results', model_dir_name('ct'), 'crossval_results_folds_0')
    fdir = join(work, 'fixtures', 'postprocessing')
    if isdir(fdir):
        shutil.rmtree(fdir)
    os.makedirs(fdir)
    shutil.copy(join(src, 'postprocessing.pkl'), fdir)
    shutil.copy(join(src, 'postprocessing.json'), fdir)
    # crafted: what v2's determine_postprocessing would write if every step had improved the validation Dice
    # (all foreground as one, then each label), pickled the same way (tuple of a list of functions and a list of kwargs)
    fn = remove_all_but_largest_component_from_segmentation
    with open(join(fdir, 'postprocessing_crafted_largest_component.pkl'), 'wb') as f:
        pickle.dump(([fn, fn, fn], [{'labels_or_regions': [1, 2]}, {'labels_or_regions': 1},
                                    {'labels_or_regions': 2}]), f)
    model = join(work, 'fixtures', 'ct', 'results', model_dir_name('ct'))
    for mode in ('tta', 'notta'):
        for pkl, suffix in (('postprocessing.pkl', 'pp'), ('postprocessing_crafted_largest_component.pkl',
                                                         'pp_crafted')):
            run(work, 'nnUNetv2_apply_postprocessing', '-i', join(work, 'fixtures', 'ct', f'pred_{mode}'),
                '-o', join(fdir, f'pred_{mode}_{suffix}'), '-pp_pkl_file', join(fdir, pkl), '-np', 1,
                '-plans_json', join(model, 'plans.json'), '-dataset_json', join(model, 'dataset.json'))


# ----------------------------------------------------------------------------------------------------------------
# collect: summary of every fixture (read back from the stripped checkpoints) + manifest of sha256
# ----------------------------------------------------------------------------------------------------------------
def step_collect(work, _=None):
    import hashlib
    import torch
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager
    fx_root = join(work, 'fixtures')
    summary = {}
    for fx, models in FIXTURES.items():
        for m in models:
            d = join(fx_root, fx, 'results', model_dir_name(m))
            ck = torch.load(join(d, 'fold_0', 'checkpoint_final.pth'), weights_only=False, map_location='cpu')
            pm = PlansManager(ck['init_args']['plans'])
            cm = pm.get_configuration(ck['init_args']['configuration'])
            summary[m] = {
                'fixture': fx, 'model_folder': f'{fx}/results/{model_dir_name(m)}',
                'checkpoint_keys': sorted(ck.keys()),
                'trainer_name': ck['trainer_name'], 'configuration': ck['init_args']['configuration'],
                'network_class': cm.network_arch_class_name,
                'n_stages': cm.network_arch_init_kwargs['n_stages'],
                'features_per_stage': cm.network_arch_init_kwargs['features_per_stage'],
                'patch_size': cm.patch_size, 'spacing': cm.spacing, 'batch_size': cm.batch_size,
                'normalization_schemes': cm.normalization_schemes,
                'transpose_forward': pm.transpose_forward,
                'inference_allowed_mirroring_axes': list(ck['inference_allowed_mirroring_axes']),
                'num_parameters_unique': sum({v.untyped_storage().data_ptr(): v.numel()
                                              for v in ck['network_weights'].values()}.values()),
                'epochs_trained': ck['current_epoch'],
            }
    # foreground voxels of every segmentation
    seg_fg = {}
    for root, _, files in os.walk(fx_root):
        for f in sorted(files):
            if f.endswith('.nii.gz') and 'images' not in root:
                a = np.asarray(nib.load(join(root, f)).dataobj)
                rel = os.path.relpath(join(root, f), fx_root)
                seg_fg[rel] = {int(k): int(v) for k, v in zip(*np.unique(a, return_counts=True))}
    summary['segmentation_voxel_counts'] = seg_fg
    save_json(summary, join(fx_root, 'fixtures_summary.json'))
    for f in ('make_v2_models.py', 'nnUNetTrainer_goldenTiny.py'):
        shutil.copy(join(HERE, f), fx_root)
    edits = load_json(join(work, 'plans_edits.json'))
    save_json(edits, join(fx_root, 'plans_edits.json'))
    if isfile(join(HERE, 'README_fixtures.md')):
        shutil.copy(join(HERE, 'README_fixtures.md'), join(fx_root, 'README.md'))
    manifest = {}
    for root, _, files in os.walk(fx_root):
        for f in sorted(files):
            p = join(root, f)
            rel = os.path.relpath(p, fx_root)
            if rel == 'manifest.json':
                continue
            with open(p, 'rb') as fh:
                manifest[rel] = hashlib.sha256(fh.read()).hexdigest()
    save_json(dict(sorted(manifest.items())), join(fx_root, 'manifest.json'))


if __name__ == '__main__':
    raw_in, work = abspath(sys.argv[1]), abspath(sys.argv[2])
    steps = sys.argv[3:] or ['prep', 'plan', 'train', 'predict', 'postprocessing', 'collect']
    os.makedirs(work, exist_ok=True)
    for s in steps:
        if s == 'prep':
            step_prep(raw_in, work)
        elif s == 'plan':
            step_plan(work)
        else:
            name, _, models = s.partition(':')  # e.g. train:resenc,ct
            globals()['step_' + name](work, models.split(',') if models else None)
