package shim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/bkplugin/bk-plugin-operator/internal/identity"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// pluginAPIProxy answers the direct plugin API routes
// (/plugins/{code}/bk_plugin/{plugin_api,openapi,private}/...) with the
// plugin pod's own answer: status, Content-Type and body as they are.
type pluginAPIProxy struct {
	versions *versionService
	pods     pods
	http     *http.Client
}

// directCall is one request to a plugin's own API.
type directCall struct {
	Code, Family, Path, RawQuery, Method string
	Body                                 []byte
	// Identity is the verified caller (identityFrom).
	Identity identity.Identity
	// Header is what the plugin API receives (pluginAPIHeaders): the
	// caller's Bk-Plugin-* headers and the verified identity.
	Header http.Header
	// ContentType and Accept are the caller's, passed on.
	ContentType, Accept string
}

// directAnswer is the plugin API's answer, passed back as it is.
type directAnswer struct {
	Status      int
	ContentType string
	Body        []byte
}

// checkFamilyIdentity refuses a caller the family's gateway resource would
// refuse: plugin_api needs a user, openapi an app, private both.
func checkFamilyIdentity(family string, id identity.Identity) error {
	needUser := family == stdapi.APIFamilyPlugin || family == stdapi.APIFamilyPrivate
	needApp := family == stdapi.APIFamilyOpen || family == stdapi.APIFamilyPrivate
	switch {
	case needApp && id.AppCode == "":
		return errorf(http.StatusUnauthorized, "the %s APIs need a known calling app", family)
	case needUser && id.Username == "":
		return errorf(http.StatusUnauthorized, "the %s APIs need a known user", family)
	}
	return nil
}

// call forwards c to the pod of the plugin's newest Ready version.
func (p *pluginAPIProxy) call(ctx context.Context, c directCall) (directAnswer, error) {
	if err := checkFamilyIdentity(c.Family, c.Identity); err != nil {
		return directAnswer{}, err
	}
	plv, err := p.versions.resolve(ctx, c.Code, "*")
	if err != nil {
		return directAnswer{}, err
	}
	base, err := p.pods.endpoint(plv)
	if err != nil {
		return directAnswer{}, errorf(http.StatusBadGateway, "%v", err)
	}
	target := base + "/bk_plugin/" + c.Family + "/" + c.Path
	if c.RawQuery != "" {
		target += "?" + c.RawQuery
	}
	var body io.Reader
	if len(c.Body) > 0 {
		body = bytes.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, target, body)
	if err != nil {
		return directAnswer{}, errorf(http.StatusBadRequest, "plugin API path %q: %v", c.Path, err)
	}
	for k, vs := range c.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if c.ContentType != "" {
		req.Header.Set("Content-Type", c.ContentType)
	}
	if c.Accept != "" {
		req.Header.Set("Accept", c.Accept)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return directAnswer{}, errorf(http.StatusBadGateway, "plugin pod %s of plugin %s did not answer: %v", base, c.Code, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxPluginAPIAnswerBytes+1))
	if err != nil {
		return directAnswer{}, errorf(http.StatusBadGateway, "read the answer of plugin pod %s: %v", base, err)
	}
	if len(raw) > maxPluginAPIAnswerBytes {
		return directAnswer{}, errorf(http.StatusBadGateway, "plugin API %s answered more than %d bytes", c.Path, maxPluginAPIAnswerBytes)
	}
	return directAnswer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: raw}, nil
}

// pluginAPI answers PluginAPIsRoute.
func (s *Server) pluginAPI(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	body, err := readBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ans, err := s.apiProxy.call(r.Context(), directCall{
		Code: vars[stdapi.VarCode], Family: vars[stdapi.VarAPIFamily], Path: vars[stdapi.VarAPIPath],
		RawQuery: r.URL.RawQuery, Method: r.Method, Body: body,
		Identity: identityFrom(r.Context()), Header: pluginAPIHeaders(r),
		ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"),
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ans.ContentType != "" {
		w.Header().Set("Content-Type", ans.ContentType)
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(ans.Body)))
	w.WriteHeader(ans.Status)
	_, _ = w.Write(ans.Body) // the client is gone if this fails
}
