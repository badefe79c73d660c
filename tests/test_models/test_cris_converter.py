"""Round trip of tools/model_converters/cris2mmris.py.

A small re-implementation of the public CRIS model (module names = the
public checkpoint's key layout, forward written from the facts in
``shared/reference/official_code_notes.md``, independent of mmris) is filled
with random values and saved as the public code saves it. The converted
checkpoint must load strictly into the mmris model and give the same
outputs.
"""
import importlib.util
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from cris_test_utils import TINY_CLIP, randomize_, tiny_cris_cfg
from mmengine.runner import load_checkpoint

import mmris  # noqa: F401
from mmris.models.utils import CLIPTokenizer, build_open_clip
from mmris.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _converter():
    path = osp.join(ROOT, 'tools', 'model_converters', 'cris2mmris.py')
    spec = importlib.util.spec_from_file_location('cris2mmris', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------- the public model, re-written
def conv_layer(cin, cout, k=1, pad=0):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, 1, pad, bias=False), nn.BatchNorm2d(cout),
        nn.ReLU(True))


class PubAttnPool(nn.Module):

    def __init__(self, pool, out_dim):
        super().__init__()
        self.positional_embedding = pool.positional_embedding
        self.k_proj, self.q_proj = pool.k_proj, pool.q_proj
        self.v_proj, self.c_proj = pool.v_proj, pool.c_proj
        self.num_heads = pool.num_heads
        dim = pool.positional_embedding.shape[1]
        self.spacial = int(math.isqrt(pool.positional_embedding.shape[0]))
        self.connect = nn.Sequential(
            nn.Conv2d(dim, out_dim, 1, bias=False), nn.BatchNorm2d(out_dim))

    def forward(self, x):
        b, c, h, w = x.shape
        res = self.connect(x)
        s = self.spacial
        grid = self.positional_embedding[1:].reshape(s, s, c).permute(2, 0, 1)
        grid = F.interpolate(grid[None], size=(h, w), mode='bicubic',
                             align_corners=False)[0]
        t = (x + grid[None]).flatten(2).transpose(1, 2)  # B, N, C
        nh, dh = self.num_heads, c // self.num_heads

        def heads(z):
            return z.reshape(b, -1, nh, dh).transpose(1, 2)

        q, k, v = heads(self.q_proj(t)), heads(self.k_proj(t)), heads(
            self.v_proj(t))
        att = (q @ k.transpose(-1, -2) / math.sqrt(dh)).softmax(-1)
        o = self.c_proj((att @ v).transpose(1, 2).reshape(b, -1, c))
        o = o.transpose(1, 2).reshape(b, -1, h, w)
        return F.relu(o + res)


class PubBackbone(nn.Module):

    def __init__(self, clip, word_len):
        super().__init__()
        self.visual = clip.visual
        self.visual.attnpool = PubAttnPool(clip.visual.attnpool,
                                           clip.text_projection.shape[1])
        self.transformer = clip.transformer
        self.token_embedding = clip.token_embedding
        # the public CLIP keeps CLIP's whole table (77 rows; model/clip.py
        # builds it with CLIP's context_length) and reads [:L] in forward
        self.positional_embedding = nn.Parameter(
            clip.positional_embedding.detach().clone())
        self.ln_final = clip.ln_final
        self.text_projection = clip.text_projection
        self.logit_scale = clip.logit_scale

    def encode_image(self, img):
        v = self.visual
        x = v.avgpool(v.act3(v.bn3(v.conv3(v.act2(v.bn2(v.conv2(v.act1(
            v.bn1(v.conv1(img))))))))))
        x2 = v.layer2(v.layer1(x))
        x3 = v.layer3(x2)
        return x2, x3, v.attnpool(v.layer4(x3))

    def encode_text(self, ids):
        n = ids.shape[1]
        x = self.token_embedding(ids) + self.positional_embedding[:n]
        mask = torch.full((n, n), float('-inf')).triu(1)
        x = self.ln_final(self.transformer(x, attn_mask=mask))
        state = x[torch.arange(x.shape[0]), ids.argmax(-1)]
        return x, state @ self.text_projection


class PubFPN(nn.Module):

    def __init__(self, cin, cout):
        super().__init__()
        self.txt_proj = nn.Sequential(
            nn.Linear(cin[2], cout[2], bias=False), nn.BatchNorm1d(cout[2]),
            nn.ReLU(True))
        self.f1_v_proj = conv_layer(cin[2], cout[2])
        self.norm_layer = nn.Sequential(nn.BatchNorm2d(cout[2]), nn.ReLU(True))
        self.f2_v_proj = conv_layer(cin[1], cout[1], 3, 1)
        self.f2_cat = conv_layer(cout[2] + cout[1], cout[1])
        self.f3_v_proj = conv_layer(cin[0], cout[0], 3, 1)
        self.f3_cat = conv_layer(cout[0] + cout[1], cout[1])
        self.f4_proj5 = conv_layer(cout[2], cout[1], 3, 1)
        self.f4_proj4 = conv_layer(cout[1], cout[1], 3, 1)
        self.f4_proj3 = conv_layer(cout[1], cout[1], 3, 1)
        self.aggr = conv_layer(3 * cout[1], cout[1])
        coord = nn.Module()
        coord.conv1 = conv_layer(cout[1] + 2, cout[1], 3, 1)
        self.coordconv = nn.Sequential(coord,
                                       conv_layer(cout[1], cout[1], 3, 1))

    def forward(self, imgs, state):
        v3, v4, v5 = imgs

        def up(z):
            return F.interpolate(z, scale_factor=2, mode='bilinear')

        f5 = self.norm_layer(self.f1_v_proj(v5) *
                             self.txt_proj(state)[..., None, None])
        f4 = self.f2_cat(torch.cat([self.f2_v_proj(v4), up(f5)], 1))
        f3 = F.avg_pool2d(self.f3_v_proj(v3), 2, 2)
        f3 = self.f3_cat(torch.cat([f3, f4], 1))
        fq = torch.cat([self.f4_proj3(f3), self.f4_proj4(f4),
                        up(self.f4_proj5(f5))], 1)
        fq = self.aggr(fq)
        b, _, h, w = fq.shape
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h),
                                torch.linspace(-1, 1, w), indexing='ij')
        coords = torch.stack([xs, ys])[None].expand(b, -1, -1, -1)
        fq = self.coordconv[0].conv1(torch.cat([fq, coords], 1))
        return self.coordconv[1](fq)


def pos1d(d, n):
    pe = torch.zeros(n, d)
    for p in range(n):
        for i in range(0, d, 2):
            pe[p, i] = math.sin(p / 10000**(i / d))
            pe[p, i + 1] = math.cos(p / 10000**(i / d))
    return pe


def pos2d(d, h, w):
    half = d // 2
    px, py = pos1d(half, w), pos1d(half, h)  # (w, half), (h, half)
    pe = torch.zeros(h * w, d)
    for r in range(h):
        for c in range(w):
            pe[r * w + c] = torch.cat([px[c], py[r]])
    return pe


class PubDecoderLayer(nn.Module):

    def __init__(self, d, nhead, ffn, dropout):
        super().__init__()
        self.self_attn_norm = nn.LayerNorm(d)
        self.cross_attn_norm = nn.LayerNorm(d)
        self.self_attn = nn.MultiheadAttention(d, nhead, dropout=dropout)
        self.multihead_attn = nn.MultiheadAttention(
            d, nhead, dropout=dropout, kdim=d, vdim=d)
        self.ffn = nn.Sequential(
            nn.Linear(d, ffn), nn.ReLU(True), nn.Dropout(dropout),
            nn.LayerNorm(ffn), nn.Linear(ffn, d))
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d),
                                              nn.LayerNorm(d),
                                              nn.LayerNorm(d))

    def forward(self, vis, txt, vis_pos, txt_pos, pad_mask):
        x = self.norm1(vis)
        x = self.self_attn(x + vis_pos, x + vis_pos, value=x)[0]
        vis = vis + self.self_attn_norm(x)
        x = self.norm2(vis)
        x = self.multihead_attn(query=x + vis_pos, key=txt + txt_pos,
                                value=txt, key_padding_mask=pad_mask)[0]
        vis = vis + self.cross_attn_norm(x)
        return vis + self.ffn(self.norm3(vis))


class PubDecoder(nn.Module):

    def __init__(self, n, d, nhead, ffn, dropout):
        super().__init__()
        self.layers = nn.ModuleList(
            [PubDecoderLayer(d, nhead, ffn, dropout) for _ in range(n)])
        self.norm = nn.LayerNorm(d)

    def forward(self, vis, txt, pad_mask):
        b, c, h, w = vis.shape
        vis_pos = pos2d(c, h, w)[:, None]  # HW, 1, C (sequence first)
        txt_pos = pos1d(txt.shape[2], txt.shape[1])[:, None]
        x = vis.flatten(2).permute(2, 0, 1)
        txt = txt.permute(1, 0, 2)
        for layer in self.layers:
            x = layer(x, txt, vis_pos, txt_pos, pad_mask)
        return self.norm(x).permute(1, 2, 0).reshape(b, c, h, w)


class PubProjector(nn.Module):

    def __init__(self, word_dim, in_dim, k=3):
        super().__init__()
        self.k = k
        self.vis = nn.Sequential(
            nn.Upsample(scale_factor=2, mode='bilinear'),
            conv_layer(in_dim * 2, in_dim * 2, 3, 1),
            nn.Upsample(scale_factor=2, mode='bilinear'),
            conv_layer(in_dim * 2, in_dim, 3, 1), nn.Conv2d(in_dim, in_dim, 1))
        self.txt = nn.Linear(word_dim, in_dim * k * k + 1)

    def forward(self, x, word):
        x = self.vis(x)
        b, c, h, w = x.shape
        word = self.txt(word)
        outs = []
        for i in range(b):  # one sample at a time (not grouped)
            weight = word[i, :-1].reshape(1, c, self.k, self.k)
            outs.append(F.conv2d(x[i:i + 1], weight, word[i, -1:],
                                 padding=self.k // 2))
        return torch.cat(outs)


class PubCRIS(nn.Module):

    def __init__(self, clip, word_len, fpn_in, fpn_out, n, d, nhead, ffn,
                 word_dim):
        super().__init__()
        self.backbone = PubBackbone(clip, word_len)
        self.neck = PubFPN(fpn_in, fpn_out)
        self.decoder = PubDecoder(n, d, nhead, ffn, 0.1)
        self.proj = PubProjector(word_dim, d // 2, 3)

    def forward(self, img, word):
        pad_mask = word == 0
        vis = self.backbone.encode_image(img)
        words, state = self.backbone.encode_text(word)
        fq = self.decoder(self.neck(vis, state), words, pad_mask)
        return self.proj(fq, state)


# ---------------------------------------------------------------- tests
WORD_LEN = 8


def _public_checkpoint(path, seed=0):
    clip = build_open_clip(model_cfg=dict(TINY_CLIP, quick_gelu=True))
    # tiny CRIS: fpn_in = (64, 128, 64), fpn_out = (16, 32, 64), d = 32
    pub = PubCRIS(clip, WORD_LEN, (64, 128, 64), (16, 32, 64), n=2, d=32,
                  nhead=4, ffn=64, word_dim=64)
    randomize_(pub, seed)
    state = {f'module.{k}': v for k, v in pub.state_dict().items()}
    torch.save(
        dict(epoch=50, cur_iou=0.5, best_iou=0.6, prec={'Pr@50': 0.7},
             state_dict=state, optimizer={}, scheduler={}), path)
    return pub.eval()


def _mmris_model():
    cfg = tiny_cris_cfg(context_length=WORD_LEN, num_layers=2)
    cfg['neck']['channels'] = (16, 32, 64)
    return MODELS.build(cfg).eval()


def test_converter_round_trip(tmp_path):
    conv = _converter()
    src, dst = str(tmp_path / 'cris.pth'), str(tmp_path / 'mmris.pth')
    pub = _public_checkpoint(src)
    out = conv.convert_file(src, dst)
    assert out['meta']['best_iou'] == 0.6 and out['meta']['epoch'] == 50

    model = _mmris_model()
    converted = out['state_dict']
    assert set(converted) == set(model.state_dict())  # nothing missing
    load_checkpoint(model, dst, map_location='cpu', strict=True)
    # every public tensor landed on its mmris parameter with equal values
    pub_state = pub.state_dict()
    mm_state = model.state_dict()
    assert len(pub_state) == len(converted) + 1  # + logit_scale (dropped)
    assert pub_state['backbone.positional_embedding'].shape[0] == 77
    for key, value in pub_state.items():
        new = conv._map_key(key)
        if key == 'backbone.logit_scale':
            assert new is None or key in conv.DROPPED_KEYS
            continue
        if key == 'backbone.positional_embedding':  # read [:L] on load
            value = value[:WORD_LEN]
        assert torch.equal(mm_state[new], value), (key, new)

    images = torch.randn(2, 3, 96, 64)
    texts = ['the red ball on the left', 'a very long expression that '
             'does not fit into the eight tokens']
    ids, _ = CLIPTokenizer(WORD_LEN)(texts)
    metas = [dict(text=t) for t in texts]
    with torch.no_grad():
        want = pub(images, ids)
        got = model.decode_head.forward(model.extract_feat(images, metas))
    assert got.shape == want.shape == (2, 1, 24, 16)
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4), (
        (got - want).abs().max())


def test_converter_errors_and_options(tmp_path):
    conv = _converter()
    state = {
        'module.backbone.positional_embedding': torch.randn(77, 4),
        'module.backbone.logit_scale': torch.ones(()),
        'neck.f2_cat.0.weight': torch.randn(2, 2, 1, 1),  # no module.
    }
    out = conv.convert_cris(state, context_length=17)
    assert out['backbone.text.positional_embedding'].shape == (17, 4)
    assert 'neck.m3_fuse.conv.weight' in out
    assert 'backbone.logit_scale' not in str(list(out))
    bad = dict(state, **{'module.head.foo': torch.ones(1),
                         'module.backbone.positional_embedding_x':
                         torch.ones(1)})
    with pytest.raises(KeyError, match='head.foo') as err:
        conv.convert_cris(bad)
    assert 'positional_embedding_x' in str(err.value)


def test_converter_cuts_to_the_config_length(tmp_path, monkeypatch, capsys):
    """Without a flag all 77 rows are kept (and the model reads the first L
    on load); --context-length / --config cut the table; the dropped keys
    are printed."""
    conv = _converter()
    src = str(tmp_path / 'cris.pth')
    _public_checkpoint(src)
    key = 'backbone.text.positional_embedding'
    for args, rows in [([], 77), (['--context-length', str(WORD_LEN)],
                                  WORD_LEN),
                       (['--config', osp.join(
                           ROOT, 'configs', 'cris',
                           'cris_r50_8xb8-50e_refcocog-umd-416x416.py')],
                        22)]:
        dst = str(tmp_path / f'out{rows}.pth')
        monkeypatch.setattr('sys.argv', ['cris2mmris.py', src, dst] + args)
        conv.main()
        log = capsys.readouterr().out
        assert 'dropped 1 key(s)' in log and 'backbone.logit_scale' in log
        ckpt = torch.load(dst, map_location='cpu', weights_only=True)
        assert ckpt['state_dict'][key].shape[0] == rows
        assert ckpt['meta']['dropped'] == ['backbone.logit_scale']
        if rows >= WORD_LEN:
            model = _mmris_model()
            load_checkpoint(model, dst, map_location='cpu', strict=True)
    assert conv.context_length_from_config(osp.join(
        ROOT, 'configs', 'cris', 'cris_r50_8xb8-50e_refcoco-416x416.py')) == 17


@pytest.mark.full_size
def test_full_size_public_checkpoint_loads_into_shipped_config(tmp_path):
    """A full-size public CRIS R50 (77-row text table, as the public code
    keeps it), converted without flags (the README command), loads with
    strict=True into the shipped RefCOCO config and gives its outputs."""
    from mmengine.config import Config

    from mmris.utils import register_all_modules
    register_all_modules()
    conv = _converter()
    torch.manual_seed(0)
    clip = build_open_clip('RN50-quickgelu')
    pub = PubCRIS(clip, 17, (512, 1024, 1024), (256, 512, 1024), n=3,
                  d=512, nhead=8, ffn=2048, word_dim=1024).eval()
    randomize_(pub, 1)
    assert pub.backbone.positional_embedding.shape == (77, 512)
    src, dst = str(tmp_path / 'cris.pth'), str(tmp_path / 'mmris.pth')
    torch.save(dict(epoch=1, state_dict={f'module.{k}': v for k, v in
                                         pub.state_dict().items()}), src)
    conv.convert_file(src, dst)
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs', 'cris', 'cris_r50_8xb8-50e_refcoco-416x416.py'))
    cfg.model.backbone.pretrained = None
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, dst, map_location='cpu', strict=True)
    texts = ['the red ball on the left']
    ids, _ = CLIPTokenizer(17)(texts)
    images = torch.randn(1, 3, 416, 416)
    with torch.no_grad():
        want = pub(images, ids)
        got = model.decode_head(model.extract_feat(images,
                                                   [dict(text=texts[0])]))
    assert got.shape == want.shape == (1, 1, 104, 104)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
