"""Writes resenc_preset_parameters.json: for the ResEnc L and XL plans here (nnUNetv2_plan_experiment -pl
nnUNetPlannerResEncL / nnUNetPlannerResEncXL on a small 3-label dataset, unchanged), every configuration's network as
nnU-Net v2 builds it for inference (get_network_from_plans, 1 input channel, 3 outputs, no deep supervision): the
state-dict names and shapes, without v2's duplicate names (decoder.encoder.*, *.all_modules.*). Run with the nnU-Net v2
peer (nnunetv2 2.8.1):

    python make_preset_shapes.py
"""
import json

from nnunetv2.utilities.get_network_from_plans import get_network_from_plans

out = []
for plans_file in ["resenc_L_plans.json", "resenc_XL_plans.json"]:
    plans = json.load(open(plans_file))
    for name, configuration in plans["configurations"].items():
        architecture = configuration.get("architecture")
        if architecture is None:  # configurations that only inherit (e.g. a cascade stage) are skipped
            continue
        network = get_network_from_plans(architecture["network_class_name"], architecture["arch_kwargs"],
                                         architecture["_kw_requires_import"], 1, 3, allow_init=True,
                                         deep_supervision=False)
        parameters = [[key, list(value.shape)] for key, value in network.state_dict().items()
                      if not key.startswith("decoder.encoder.") and ".all_modules." not in key]
        out.append({"plans": plans_file, "configuration": name,
                    "network_class_name": architecture["network_class_name"], "parameters": parameters})
json.dump(out, open("resenc_preset_parameters.json", "w"), indent=1)
