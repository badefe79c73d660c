# ASDA with CLIP ViT-B/16 on RefCOCO, mmris's reading of the paper's text
# where it differs from the authors' public code (asda_vitb_refcoco.py is
# the public model). Not the model that produced the paper's numbers.
#
#   Eq. 1   text feature of the layer selection: the final sentence feature
#           f_E for every layer (public code: the text EOT after that layer)
#   Eq. 6   pre-norm attention layers F = MHSA(LN(F)) + F (public code:
#           post-norm + final LayerNorm)
#   Eq. 7   sigmoid on the response masks (public code: ReLU)
#   Eq. 8   padded word positions masked (public code: attended)
#   Sec 3.5 focal loss with alpha 0.25, gamma 2 (public code: alpha -1,
#           gamma 0, i.e. BCE) + dice
_base_ = './asda_vitb_refcoco.py'
model = dict(
    neck=dict(selection_text='sentence'),
    decode_head=dict(
        norm_first=True,
        prototype_act='sigmoid',
        mask_padding=True,
        loss_decode=[
            dict(type='MaskFocalLoss', alpha=0.25, gamma=2.0,
                 loss_weight=1.0),
            dict(type='MaskDiceLoss', loss_weight=1.0)
        ]))
