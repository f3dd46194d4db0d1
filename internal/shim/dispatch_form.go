package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// dispatchFile is a file uploaded with a multipart plugin_api_dispatch,
// forwarded to the plugin API under the same field and file name.
type dispatchFile struct {
	Field, Name, ContentType string
	Content                  []byte
}

// readDispatch reads a plugin_api_dispatch body: JSON, or a form (multipart
// or urlencoded) with the fields url, method, username, dumped_data and
// optionally data (JSON text), plus files, as bk-sops sends a form that
// uploads a file. The request body is already bounded (limitBody).
func readDispatch(r *http.Request, maxBytes int64) (stdapi.PluginAPIDispatchRequest, []dispatchFile, error) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "multipart/form-data", "application/x-www-form-urlencoded":
	default:
		body, err := readBody(r)
		if err != nil {
			return stdapi.PluginAPIDispatchRequest{}, nil, err
		}
		req, err := decodeDispatch(body)
		return req, nil, err
	}
	if err := parseForm(r, mediaType, maxBytes); err != nil {
		return stdapi.PluginAPIDispatchRequest{}, nil, err
	}
	req := stdapi.PluginAPIDispatchRequest{
		URL:        r.PostForm.Get("url"),
		Method:     r.PostForm.Get("method"),
		Username:   r.PostForm.Get("username"),
		DumpedData: r.PostForm.Get("dumped_data"),
	}
	if d := r.PostForm.Get("data"); d != "" {
		req.Data = json.RawMessage(d)
	}
	if err := req.Validate(); err != nil {
		return req, nil, errorf(http.StatusBadRequest, "invalid plugin_api_dispatch body: %v", err)
	}
	var files []dispatchFile
	if r.MultipartForm != nil {
		for field, fhs := range r.MultipartForm.File {
			for _, fh := range fhs {
				f, err := readUpload(field, fh)
				if err != nil {
					return req, nil, err
				}
				files = append(files, f)
			}
		}
	}
	return req, files, nil
}

func parseForm(r *http.Request, mediaType string, maxBytes int64) error {
	var err error
	if mediaType == "multipart/form-data" {
		// Everything in memory: the body is bounded by MaxBodyBytes.
		err = r.ParseMultipartForm(maxBytes)
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", tooBig.Limit)
	case err != nil:
		return errorf(http.StatusBadRequest, "invalid plugin_api_dispatch body: %s form: %v", mediaType, err)
	}
	return nil
}

func readUpload(field string, fh *multipart.FileHeader) (dispatchFile, error) {
	f, err := fh.Open()
	if err != nil {
		return dispatchFile{}, errorf(http.StatusBadRequest, "invalid plugin_api_dispatch body: file %s: %v", field, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return dispatchFile{}, errorf(http.StatusBadRequest, "invalid plugin_api_dispatch body: file %s: %v", field, err)
	}
	ct := fh.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	return dispatchFile{Field: field, Name: fh.Filename, ContentType: ct, Content: b}, nil
}

// quoteEscaper escapes a Content-Disposition parameter as mime/multipart does.
var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

// multipartBody encodes data and files as the multipart body of the request
// to the plugin API: each data key a field (a string as it is, anything else
// as its JSON text), each file under its field and file name.
func multipartBody(data map[string]json.RawMessage, files []dispatchFile) (body []byte, contentType string, err error) {
	var buf strings.Builder
	mw := multipart.NewWriter(&buf)
	for k, v := range data {
		if err := mw.WriteField(k, queryValue(v)); err != nil {
			return nil, "", fmt.Errorf("encode field %s: %w", k, err)
		}
	}
	for _, f := range files {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscaper.Replace(f.Field), quoteEscaper.Replace(f.Name))}
		h["Content-Type"] = []string{f.ContentType}
		w, err := mw.CreatePart(h)
		if err != nil {
			return nil, "", fmt.Errorf("encode file %s: %w", f.Field, err)
		}
		if _, err := w.Write(f.Content); err != nil {
			return nil, "", fmt.Errorf("encode file %s: %w", f.Field, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", fmt.Errorf("encode multipart body: %w", err)
	}
	return []byte(buf.String()), mw.FormDataContentType(), nil
}
