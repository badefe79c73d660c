"""RefCOCO, RefCOCO+ and RefCOCOg in the REFER toolkit's layout.

Layout (every path is a config field, relative to ``data_root``)::

    data_root/
      coco/train2014/COCO_train2014_*.jpg        data_prefix['img_path']
      refcoco/instances.json, refs(unc).p        ann_file, refs_file
      refcoco+/instances.json, refs(unc).p
      refcocog/instances.json, refs(umd).p, refs(google).p

References:
    Yu et al., "Modeling Context in Referring Expressions", ECCV 2016
    (RefCOCO, RefCOCO+, UNC splits). Mao et al., "Generation and
    Comprehension of Unambiguous Object Descriptions", CVPR 2016 (RefCOCOg,
    Google split). Nagaraja et al., "Modeling Context Between Objects for
    Referring Expression Understanding", ECCV 2016 (RefCOCOg UMD split).
"""
import gc
import logging
import os.path as osp
import pickle
import random
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init
from mmengine.fileio import join_path
from mmengine.logging import print_log
from mmengine.utils import is_abs

from mmris.registry import DATASETS
from .data_checks import check_image_headers, report_shared_mask_problems
from .refer_loader import load_instances, load_refs_pickle

__all__ = ['RefCOCODataset', 'REFER_SPLITS', 'DEFAULT_SPLIT_BY']

#: Valid splits of every (dataset, split_by) pair of the REFER release.
REFER_SPLITS: Dict[tuple, tuple] = {
    ('refcoco', 'unc'): ('train', 'val', 'testA', 'testB'),
    ('refcoco+', 'unc'): ('train', 'val', 'testA', 'testB'),
    ('refcocog', 'umd'): ('train', 'val', 'test'),
    ('refcocog', 'google'): ('train', 'val'),
}
#: The split_by used when a config leaves it unset.
DEFAULT_SPLIT_BY: Dict[str, str] = {
    'refcoco': 'unc',
    'refcoco+': 'unc',
    'refcocog': 'umd',
}
_SAMPLE_UNITS = ('sentence', 'ref')
_TEXT_FIELDS = ('sent', 'raw')


def _resolve_split_by(dataset: str, split_by: Optional[str]) -> str:
    """Validate ``dataset`` / ``split_by`` and fill the default split_by."""
    if dataset not in DEFAULT_SPLIT_BY:
        raise ValueError(f'dataset={dataset!r} is not a REFER dataset; '
                         f'choose one of {sorted(DEFAULT_SPLIT_BY)}')
    split_by = DEFAULT_SPLIT_BY[dataset] if split_by is None else split_by
    if (dataset, split_by) not in REFER_SPLITS:
        valid = [sb for (d, sb) in REFER_SPLITS if d == dataset]
        raise ValueError(f'split_by={split_by!r} is not available for '
                         f'dataset={dataset!r}; choose one of {valid}')
    return split_by


def _check_splits(dataset: str, split_by: str,
                  splits: Sequence[str]) -> None:
    valid = REFER_SPLITS[(dataset, split_by)]
    for split in splits:
        if split not in valid:
            raise ValueError(
                f'split={split!r} is not a split of {dataset} '
                f'(split_by={split_by!r}); valid splits: {list(valid)}')


def _format_path(template: str, data_root: Optional[str], **fields) -> str:
    """Fill ``{dataset}`` / ``{split_by}`` / ``{split}`` and join the root."""
    path = template.format(**fields)
    if data_root and not is_abs(path):
        path = join_path(data_root, path)
    return path


def _pack(objects: Sequence[Any]) -> Tuple[np.ndarray, np.ndarray]:
    """Pickle ``objects`` back to back into one uint8 array.

    The layout of :meth:`BaseDataset._serialize_data`: protocol-4 pickles
    concatenated, ``address[k]`` the end of object ``k``, built without a
    numpy array per object.

    Args:
        objects (Sequence): Picklable objects.

    Returns:
        tuple[np.ndarray, np.ndarray]: The ``(sum of pickle sizes,)``
        uint8 bytes and the ``(len(objects),)`` int64 end addresses.
    """
    buffers = [pickle.dumps(obj, protocol=4) for obj in objects]
    address = np.cumsum(
        np.fromiter(map(len, buffers), dtype=np.int64, count=len(buffers)))
    return np.frombuffer(b''.join(buffers), dtype=np.uint8), address


class _PackedRecords:
    """A read-only sequence of records stored as one array of pickles.

    Holds the records that several samples share (a ref's image, ids and
    mask), so that they are stored once and travel to DataLoader workers
    as two numpy arrays rather than as Python objects.

    Args:
        records (Sequence): Picklable records.
    """

    def __init__(self, records: Sequence[Any]) -> None:
        self.data, self.address = _pack(records)

    def __len__(self) -> int:
        return len(self.address)

    def __getitem__(self, k: int) -> Any:
        start = 0 if k == 0 else self.address[k - 1].item()
        return pickle.loads(
            memoryview(self.data[start:self.address[k].item()]))


@DATASETS.register_module()
class RefCOCODataset(BaseDataset):
    """RefCOCO / RefCOCO+ / RefCOCOg for referring image segmentation.

    Each sample is one referring expression (``sample_unit='sentence'``:
    every sentence of every ref in the split exactly once, in the pickle's
    order, which is what evaluation needs) or one ref
    (``sample_unit='ref'``: a sentence is drawn uniformly at random at every
    access, as CRIS trains).

    Expressions that are blank after stripping whitespace are dropped with
    a warning naming their ``ref_id`` / ``sent_id``; a ref left without
    sentences is dropped. Sentences are not truncated (the tokenizer is).

    Every data info holds ``img_path``, ``img_id``, ``ann_id``, ``ref_id``,
    ``sent_id``, ``text``, ``split`` (reporting name, e.g.
    ``'refcocog_umd_val'``), ``ref_mask = dict(segmentation, height,
    width)`` (decoded by ``LoadRefMask``), ``category_id``, ``seg_fields``
    and ``reduce_zero_label``. In per-ref mode it also holds ``sentences``,
    the list of ``(sent_id, text)`` the draw is made from.

    Storage: what the samples of one ref share (image, ids, split name and
    mask polygons or RLE) is stored once per ref, pickled into two numpy
    arrays; ``data_list`` (or, with ``serialize_data=True``, MMEngine's
    ``data_bytes`` / ``data_address``) holds one compact item per sample,
    ``(ref_index, sent_id, text)`` or, per ref, ``(ref_index,
    sentences)``. :meth:`get_data_info` joins them into the dict above, so
    RefCOCO's 120k training sentences do not carry three copies of every
    polygon (a pickled dataset, which every DataLoader worker receives,
    about 3 times smaller). ``indices`` keeps only the refs its samples
    use; :meth:`get_subset` shares the table of every ref with the
    dataset.

    Args:
        data_root (str): Root of the REFER layout. Defaults to ``'data/'``.
        dataset (str): ``'refcoco'``, ``'refcoco+'`` or ``'refcocog'``.
            Defaults to ``'refcoco'``.
        split_by (str, optional): ``'unc'`` (refcoco, refcoco+), ``'umd'`` or
            ``'google'`` (refcocog). None picks ``'unc'`` / ``'umd'``.
        split (str | list[str]): ``train/val/testA/testB`` for refcoco and
            refcoco+, ``train/val/test`` for refcocog-umd, ``train/val`` for
            refcocog-google, or a list of them (e.g. ``['val', 'testA',
            'testB']``: one evaluation set whose samples keep their own
            ``split`` name, so the metric reports each split). Defaults to
            ``'train'``.
        ann_file (str, optional): COCO instances file, relative to
            ``data_root`` unless absolute; ``{dataset}`` is filled in.
            Defaults to ``'{dataset}/instances.json'``.
        refs_file (str, optional): Refs pickle, relative to ``data_root``
            unless absolute; ``{dataset}``, ``{split_by}`` and ``{split}``
            are filled in. Defaults to ``'{dataset}/refs({split_by}).p'``.
        data_prefix (dict): ``img_path``: image folder, relative to
            ``data_root`` unless absolute. Defaults to
            ``dict(img_path='coco/train2014')``.
        sample_unit (str): ``'sentence'`` or ``'ref'``. Defaults to
            ``'sentence'``.
        text_field (str): Sentence field used as text, ``'sent'`` (the
            REFER toolkit's normalised text) or ``'raw'``. Defaults to
            ``'sent'``.
        split_name (str, optional): Name reported in ``split`` (e.g. in
            metrics) when ``split`` is one split. None gives
            ``'{dataset}_{split}'`` for refcoco / refcoco+ and
            ``'{dataset}_{split_by}_{split}'`` for refcocog.
        check_images (bool): Read every image's header at build time
            (missing, zero-byte, unreadable files, size different from the
            annotation) and raise with the list of bad files, before any
            compute. A few seconds for 20k images. Defaults to False.
        exclude_images_of (list[dict], optional): Drop every sample whose
            image appears in other splits, e.g. ``[dict(dataset='refcoco',
            split_by='unc', splits=['val', 'testA', 'testB'])]`` to train on
            RefCOCOg without images of RefCOCO's evaluation splits. Each
            dict takes ``dataset``, ``splits``, and optionally ``split_by``,
            ``refs_file`` and ``data_root`` (default: this dataset's).
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`
            (``pipeline``, ``test_mode``, ``serialize_data``, ``indices``,
            ``lazy_init``, ``metainfo`` ...).
    """

    METAINFO = dict(
        classes=('background', 'object'), palette=[[0, 0, 0], [255, 255,
                                                               255]])

    def __init__(self,
                 data_root: str = 'data/',
                 dataset: str = 'refcoco',
                 split_by: Optional[str] = None,
                 split: Union[str, Sequence[str]] = 'train',
                 ann_file: Optional[str] = None,
                 refs_file: Optional[str] = None,
                 data_prefix: dict = dict(img_path='coco/train2014'),
                 sample_unit: str = 'sentence',
                 text_field: str = 'sent',
                 split_name: Optional[str] = None,
                 exclude_images_of: Optional[List[dict]] = None,
                 check_images: bool = False,
                 **kwargs) -> None:
        self.check_images = check_images
        self.dataset = dataset
        self.split_by = _resolve_split_by(dataset, split_by)
        splits = [split] if isinstance(split, str) else list(split)
        if not splits or len(set(splits)) != len(splits):
            raise ValueError(f'split must be a split name or a list of '
                             f'distinct split names, got {split!r}')
        _check_splits(dataset, self.split_by, splits)
        if split_name is not None and len(splits) > 1:
            raise ValueError('split_name names one split; it cannot be used '
                             f'with several splits {splits}')
        self.split = split
        self.splits = splits
        if sample_unit not in _SAMPLE_UNITS:
            raise ValueError(f'sample_unit={sample_unit!r}; choose one of '
                             f'{list(_SAMPLE_UNITS)}')
        if text_field not in _TEXT_FIELDS:
            raise ValueError(f'text_field={text_field!r}; choose one of '
                             f'{list(_TEXT_FIELDS)}')
        self.sample_unit = sample_unit
        self.text_field = text_field
        prefix = (f'{dataset}_{self.split_by}'
                  if dataset == 'refcocog' else dataset)
        self.split_names = {s: f'{prefix}_{s}' for s in splits}
        if split_name is not None:
            self.split_names[splits[0]] = split_name
        self.split_name = '+'.join(self.split_names.values())
        fields = dict(
            dataset=dataset, split_by=self.split_by, split='+'.join(splits))
        ann_file = (ann_file or '{dataset}/instances.json').format(**fields)
        self.refs_file = _format_path(refs_file
                                      or '{dataset}/refs({split_by}).p',
                                      data_root, **fields)
        self.exclude_images_of = list(exclude_images_of or [])
        for spec in self.exclude_images_of:
            self._check_exclude_spec(spec)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)
        if self.test_mode and self.sample_unit == 'ref':
            print_log(
                f'{type(self).__name__}: test_mode with sample_unit="ref" '
                'draws one random sentence per ref; evaluation protocols '
                'use sample_unit="sentence".',
                logger='current',
                level=logging.WARNING)

    @staticmethod
    def _check_exclude_spec(spec: dict) -> None:
        if not isinstance(spec, dict) or 'dataset' not in spec \
                or 'splits' not in spec:
            raise ValueError(
                'each exclude_images_of entry must be a dict with '
                f'"dataset" and "splits" (+ optional "split_by", '
                f'"refs_file", "data_root"), got {spec!r}')
        unknown = set(spec) - {
            'dataset', 'splits', 'split_by', 'refs_file', 'data_root'
        }
        if unknown:
            raise ValueError(f'exclude_images_of entry {spec!r} has unknown '
                             f'keys {sorted(unknown)}')
        if isinstance(spec['splits'], str):
            raise ValueError('exclude_images_of "splits" must be a list, got '
                             f'the string {spec["splits"]!r}')
        split_by = _resolve_split_by(spec['dataset'], spec.get('split_by'))
        _check_splits(spec['dataset'], split_by, spec['splits'])

    def _excluded_image_ids(self) -> Set[int]:
        """Image ids of every split named in ``exclude_images_of``."""
        image_ids: Set[int] = set()
        for spec in self.exclude_images_of:
            split_by = _resolve_split_by(spec['dataset'],
                                         spec.get('split_by'))
            fields = dict(dataset=spec['dataset'], split_by=split_by)
            path = _format_path(
                spec.get('refs_file', '{dataset}/refs({split_by}).p'),
                spec.get('data_root', self.data_root), **fields)
            splits = set(spec['splits'])
            for ref in load_refs_pickle(path, 'exclude_images_of.refs_file'):
                if ref['split'] in splits:
                    image_ids.add(ref['image_id'])
        return image_ids

    def _sentences_of(self, ref: Dict[str, Any]) -> List[tuple]:
        """Non-blank ``(sent_id, text)`` of a ref; warns about blank ones."""
        sentences = []
        field = self.text_field
        for sent in ref.get('sentences') or []:
            text = sent.get(field)
            if text is None:
                raise KeyError(
                    f'{self.refs_file!r}: ref_id={ref["ref_id"]} sentence '
                    f'{sent.get("sent_id")} has no {self.text_field!r} field '
                    f'(text_field); its keys are {sorted(sent)}')
            text = text.strip()
            if not text:
                print_log(
                    f'{self.split_name}: dropping the empty expression '
                    f'ref_id={ref["ref_id"]} sent_id={sent["sent_id"]}',
                    logger='current',
                    level=logging.WARNING)
                continue
            sentences.append((sent['sent_id'], text))
        return sentences

    def full_init(self) -> None:
        """Load, filter, subset and serialise the samples with the garbage
        collector paused.

        The steps of :meth:`BaseDataset.full_init` (``load_data_list``,
        ``filter_data``, ``indices``, ``_serialize_data``), with the table
        of refs packed after ``indices`` has chosen the samples, so that it
        holds only the refs they use.

        Unpickling the refs and parsing ``instances.json`` create millions
        of containers; with the collector running, its generational passes
        over them cost about as much again as the parsing (issue 12). None
        of these objects form reference cycles, so nothing is lost by
        collecting once at the end.
        """
        if self._fully_initialized:
            return
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self.data_list = self.load_data_list()
            self.data_list = self.filter_data()
            if self._indices is not None:
                self.data_list = self._get_unserialized_subset(self._indices)
            self._pack_refs()
            if self.serialize_data:
                self.data_bytes, self.data_address = self._serialize_data()
            self._fully_initialized = True
        finally:
            if was_enabled:
                gc.enable()

    def _pack_refs(self) -> None:
        """Pack the refs that ``data_list`` uses into ``self._refs`` and
        renumber the items' ``ref_index`` to their position there."""
        records = self.__dict__.pop('_ref_records')
        used = sorted({item[0] for item in self.data_list})
        if len(used) < len(records):
            position = {k: i for i, k in enumerate(used)}
            records = [records[k] for k in used]
            self.data_list = [(position[item[0]], ) + item[1:]
                              for item in self.data_list]
        self._refs = _PackedRecords(records)

    def _serialize_data(self) -> Tuple[np.ndarray, np.ndarray]:
        """MMEngine's packing of the samples into one uint8 array, without
        a numpy array per sample.

        Same layout as :meth:`BaseDataset._serialize_data` (protocol-4
        pickles back to back, ``data_address`` their cumulative ends), so
        ``get_subset`` and ``get_subset_`` read it unchanged.

        Returns:
            tuple[np.ndarray, np.ndarray]: ``data_bytes`` (uint8) and
            ``data_address`` (int64, one end per sample).
        """
        data_bytes, data_address = _pack(self.data_list)
        self.data_list.clear()
        return data_bytes, data_address

    def load_data_list(self) -> List[tuple]:
        """Read the refs of ``split``: one table row per ref, one compact
        item per sample.

        Sets ``self._ref_records``, one ``(file_name, img_id, ann_id,
        ref_id, category_id, split_index, segmentation, height, width)``
        tuple per kept ref (:meth:`full_init` packs them; ``split_index``
        indexes ``self.splits``, the image path is ``osp.join(img_prefix,
        file_name)``).

        Returns:
            list[tuple]: Per sentence ``(ref_index, sent_id, text)``, per
            ref ``(ref_index, sentences)``; ``ref_index`` indexes
            ``self._ref_records``.
        """
        refs = load_refs_pickle(self.refs_file, 'refs_file')
        coco = load_instances(self.ann_file, 'ann_file')
        images, annotations = coco['images'], coco['annotations']
        excluded = self._excluded_image_ids()
        self._img_prefix = self.data_prefix.get('img_path', '')
        per_sentence = self.sample_unit == 'sentence'
        split_index = {split: i for i, split in enumerate(self.splits)}

        records: List[tuple] = []
        num_samples: List[int] = []  # samples of every kept ref
        data_list: List[tuple] = []
        num_excluded = 0
        # split by split, so that a multi-split set is grouped by split
        refs = [ref for split in self.splits for ref in refs
                if ref['split'] == split]
        for ref in refs:
            image_id = ref['image_id']
            if image_id in excluded:
                num_excluded += 1
                continue
            if image_id not in images:
                raise KeyError(
                    f'{self.refs_file!r}: ref_id={ref["ref_id"]} refers to '
                    f'image_id={image_id}, which is not in {self.ann_file!r}'
                    '; do `ann_file` and `refs_file` belong to the same '
                    'dataset?')
            if ref['ann_id'] not in annotations:
                raise KeyError(
                    f'{self.refs_file!r}: ref_id={ref["ref_id"]} refers to '
                    f'ann_id={ref["ann_id"]}, which is not in '
                    f'{self.ann_file!r}')
            sentences = self._sentences_of(ref)
            if not sentences:
                print_log(
                    f'{self.split_name}: dropping ref_id={ref["ref_id"]}, '
                    'which has no non-empty expression',
                    logger='current',
                    level=logging.WARNING)
                continue
            image = images[image_id]
            ann = annotations[ref['ann_id']]
            k = len(records)
            records.append(
                (image['file_name'], image_id, ref['ann_id'], ref['ref_id'],
                 ref.get('category_id', ann.get('category_id')),
                 split_index[ref['split']], ann['segmentation'],
                 image['height'], image['width']))
            if per_sentence:
                data_list.extend([(k, sent_id, text)
                                  for sent_id, text in sentences])
                num_samples.append(len(sentences))
            else:
                data_list.append((k, sentences))
                num_samples.append(1)
        if num_excluded:
            print_log(
                f'{self.split_name}: excluded {num_excluded} refs whose '
                'images appear in exclude_images_of',
                logger='current',
                level=logging.INFO)
        # empty ground truths are reported, never scored unnoticed
        report_shared_mask_problems(
            [dict(segmentation=r[6], height=r[7], width=r[8])
             for r in records], num_samples,
            [f'ref_id={r[3]} ann_id={r[2]}' for r in records],
            self.split_name)
        if self.check_images:
            check_image_headers(
                (dict(img_path=osp.join(self._img_prefix, r[0]),
                      ref_mask=dict(height=r[7], width=r[8]))
                 for r in records), self.split_name)
        if not data_list:
            print_log(
                f'{self.split_name}: no samples in split {self.split!r} of '
                f'{self.refs_file!r}',
                logger='current',
                level=logging.WARNING)
        self._ref_records = records
        return data_list

    def _copy_without_annotation(self,
                                 memo: Optional[dict] = None
                                 ) -> 'RefCOCODataset':
        """The copy :meth:`get_subset` fills, sharing the ref table.

        :meth:`BaseDataset._copy_without_annotation` deep-copies every
        attribute but the samples through ``memo``, whose default is one
        dict shared by every call (MMEngine 0.10): it keeps every copied
        attribute alive and maps the address of every dataset copied so
        far to that copy, so an object later allocated at such an address
        would be "copied" as a stale dataset. A fresh ``memo`` per call
        avoids both. The ref table is read-only, so the subset shares it
        instead of copying it.

        Args:
            memo (dict, optional): :func:`copy.deepcopy` memo. Defaults to
                a new dict.

        Returns:
            RefCOCODataset: A dataset without samples.
        """
        memo = {} if memo is None else memo
        refs = self.__dict__.get('_refs')
        if refs is not None:
            memo[id(refs)] = refs
        return super()._copy_without_annotation(memo)

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Info of sample ``idx``; per-ref mode draws its sentence here.

        The draw uses Python's :mod:`random`, which ``randomness.seed`` seeds
        and PyTorch re-seeds in every DataLoader worker.

        Args:
            idx (int): Sample index.

        Returns:
            dict: The data info (see the class docstring), with ``text`` /
            ``sent_id`` set and ``sample_idx`` (``idx``, made
            non-negative).
        """
        if self.serialize_data:
            start = 0 if idx == 0 else self.data_address[idx - 1].item()
            end = self.data_address[idx].item()
            item = pickle.loads(memoryview(self.data_bytes[start:end]))
        else:
            item = self.data_list[idx]
        (file_name, img_id, ann_id, ref_id, category_id, split_index,
         segmentation, height, width) = self._refs[item[0]]
        info = dict(
            img_path=osp.join(self._img_prefix, file_name),
            img_id=img_id,
            ann_id=ann_id,
            ref_id=ref_id,
            category_id=category_id,
            split=self.split_names[self.splits[split_index]],
            ref_mask=dict(
                segmentation=segmentation, height=height, width=width),
            seg_fields=[],
            reduce_zero_label=False)
        if self.sample_unit == 'sentence':
            info['sent_id'] = item[1]
            info['text'] = item[2]
        else:
            info['sentences'] = list(item[1])
            info['sent_id'], info['text'] = random.choice(item[1])
        info['sample_idx'] = idx if idx >= 0 else len(self) + idx
        return info
