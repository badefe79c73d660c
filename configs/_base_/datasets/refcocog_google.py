# RefCOCOg (Google splits, which have no test split), with the protocol of
# refcoco.py (letterbox to 416x416, every sentence evaluated at the original
# resolution).
_base_ = './refcoco.py'
dataset = 'refcocog'
split_by = 'google'
eval_splits = ['val']
train_dataloader = dict(dataset=dict(dataset=dataset, split_by=split_by))
val_dataloader = dict(dataset=dict(dataset=dataset, split_by=split_by))
test_dataloader = dict(
    dataset=dict(dataset=dataset, split_by=split_by, split=eval_splits))
