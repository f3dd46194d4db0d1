package restmapping

import (
	"net/http"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Memoized is a meta.RESTMapper that keeps every mapping RESTMapping found;
// the other questions, and mappings not found, go to the mapper it wraps
// each time (so a CRD installed later is still discovered).
type Memoized struct {
	meta.RESTMapper

	mu       sync.RWMutex
	mappings map[mappingKey]*meta.RESTMapping
}

// mappingKey names one RESTMapping question.
type mappingKey struct {
	gk       schema.GroupKind
	versions string
}

// Memoize wraps m.
func Memoize(m meta.RESTMapper) *Memoized {
	return &Memoized{RESTMapper: m, mappings: map[mappingKey]*meta.RESTMapping{}}
}

// RESTMapping implements meta.RESTMapper, answering a question asked
// before from memory. The mapping returned is shared: callers read it.
func (m *Memoized) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	key := mappingKey{gk: gk, versions: strings.Join(versions, ",")}
	m.mu.RLock()
	found, ok := m.mappings[key]
	m.mu.RUnlock()
	if ok {
		return found, nil
	}
	found, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.mappings[key] = found
	m.mu.Unlock()
	return found, nil
}

// Reset forgets every kept mapping and resets the wrapped mapper when it
// can be reset (meta.ResettableRESTMapper).
func (m *Memoized) Reset() {
	m.mu.Lock()
	clear(m.mappings)
	m.mu.Unlock()
	meta.MaybeResetRESTMapper(m.RESTMapper)
}

// NewDynamic is controller-runtime's lazy discovery mapper, memoized: a
// manager.Options.MapperProvider and a cache.Options.Mapper maker.
func NewDynamic(cfg *rest.Config, httpClient *http.Client) (meta.RESTMapper, error) {
	m, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return Memoize(m), nil
}
