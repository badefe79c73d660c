# The parts of the combined RefCOCO family that every family config shares
# (refcoco_family.py, and the method configs that inherit their own
# pipelines): which splits train, which evaluate, and the images of every
# val / test split that training leaves out, so that nothing evaluated was
# trained on.
eval_images = [
    dict(dataset='refcoco', split_by='unc', splits=['val', 'testA', 'testB']),
    dict(dataset='refcoco+', split_by='unc', splits=['val', 'testA', 'testB']),
    dict(dataset='refcocog', split_by='umd', splits=['val', 'test']),
    dict(dataset='refcocog', split_by='google', splits=['val']),
]
train_sources = [('refcoco', 'unc'), ('refcoco+', 'unc'), ('refcocog', 'umd')]
eval_sources = [('refcoco', 'unc', ['val', 'testA', 'testB']),
                ('refcoco+', 'unc', ['val', 'testA', 'testB']),
                ('refcocog', 'umd', ['val', 'test'])]
