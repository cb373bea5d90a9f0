"""ftrace's features, one module per tracefs file family: function filters and catalog, options, probes, stack tracer, latency tracers, events."""
