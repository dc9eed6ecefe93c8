#!/bin/sh
# Golden for EvaluationSummary.addingForegroundMean: nnU-Net v1.7.1's foreground_mean (evaluation/add_mean_dice_to_json.py)
# applied to a copy of ../shared/reference/postprocessing/validation_raw/summary.json. Run from the repository root.
cp ../shared/reference/postprocessing/validation_raw/summary.json Tests/Golden/evaluation/foreground_mean_validation_raw.json
.peer-venv/bin/python -c "from nnunet.evaluation.add_mean_dice_to_json import foreground_mean; \
foreground_mean('Tests/Golden/evaluation/foreground_mean_validation_raw.json')"
