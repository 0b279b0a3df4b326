/*
 * wsdl_blob.h - the WSDL/XSD files of wsdl/ (wsdl_files) and the OpenAPI
 * document of openapi/ (openapi_files), built into the binary by
 * tools/embed.sh. Each table ends with an entry whose name is NULL.
 */
#ifndef PXTSGW_WSDL_BLOB_H
#define PXTSGW_WSDL_BLOB_H

#include <stddef.h>

struct wsdl_file {
	const char *name;   /* base name, e.g. "parlayx_terminal_status_service_2_3.wsdl" */
	const char *data;   /* the bytes, NUL-terminated */
	size_t len;
};

extern const struct wsdl_file wsdl_files[];
extern const struct wsdl_file openapi_files[];

#endif
