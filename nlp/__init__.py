"""The text domain: readers, the tokenising pipeline, serving export and the encoders.

Importing this package registers the ``"text"`` domain and every backbone, named weight set
and dataset in its modules (a new backbone is one new file here): ``hf_encoder``,
``minilm_l6``, ``bert_base_uncased``, ``distilbert_base_uncased``, ``roberta_base``,
``hub_text``, the named weights ``minilm_l6`` and the ``tweets`` dataset.

Example:
    >>> from transferkit.common.data.domain import get_domain
    >>> get_domain("text").read_inputs(["hello"])  # doctest: +SKIP
    ['hello']
"""
try:  # registers the tokeniser ops that exported text SavedModels call (CaseFoldUTF8, ...)
    import tensorflow_text  # noqa: F401
except ImportError:  # HF encoders still train; exporting raw-string models needs it
    pass

from transferkit.common.data.domain import Domain, register_domain
from transferkit.common.plugins import import_submodules
from transferkit.nlp.data import read_inputs, read_source
from transferkit.nlp.hf.lora import lora_targets
from transferkit.nlp.pipeline import length_order, make_dataset
from transferkit.nlp.serving import serving_model

DOMAIN = register_domain(Domain(name="text", read_source=read_source, make_dataset=make_dataset,
                                read_inputs=read_inputs, serving_model=serving_model,
                                extraction_order=length_order, lora_targets=lora_targets))
import_submodules(__name__)

__all__ = ["DOMAIN", "length_order", "make_dataset", "read_inputs", "read_source", "serving_model"]
