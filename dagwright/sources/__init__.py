"""Sources: something other than dagwright's own tracing turned into the pipeline IR.

Everything downstream of the IR (validation, the engine, the compilers) then works for an
imported pipeline unchanged. ``kfp/`` reads a Kubeflow Pipelines v2 PipelineSpec.
"""
