# Fully sharded data parallel training (PyTorch FSDP) through MMEngine's
# FlexibleRunner and FSDPStrategy (issue 12, docs/speed.md). A config that
# inherits this fragment trains with
#
#   bash tools/dist_train.sh CONFIG GPUS
#
# (tools/train.py builds a FlexibleRunner for a config with `strategy`).
# Parameters, gradients and optimizer state are sharded over the processes;
# each unit named in `block_names` (set it in the derived config) is gathered
# only for its own forward and backward.
runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        # frozen (CLIP) and trainable parameters may share a unit, and
        # MMEngine rebuilds the optimizer by parameter name
        use_orig_params=True,
        auto_wrap_policy=dict(
            type='mmris.engine.fsdp_wrap_policy.wrap_blocks_policy',
            block_names=())),
    # checkpoints hold the full (unsharded) state dict, saved by rank 0, so
    # tools/test.py, the inferencer and stage 2 load them without FSDP
    state_dict_cfg='full')
