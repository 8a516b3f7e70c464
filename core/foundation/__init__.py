"""Foundation: what every layer may import. Where things live and every environment variable
(`settings`), a model's settings as data (`model_config`), the errors users see and what the
pages and the command line make of them (`errors`), atomic file writes (`atomic`) and image files
turned into pixels with their checks (`images`)."""
