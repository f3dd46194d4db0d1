// Package testenv holds what the envtest suites share: running a component
// as a user that has only the RBAC the repository generates for it, so that
// a missing RBAC marker fails the tests instead of a real cluster.
package testenv

import (
	"context"
	"fmt"
	"os"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// UserWithRole installs the ClusterRole in roleFile (a controller-gen
// output such as config/rbac/role.yaml), binds it to a new user named
// user and returns that user's config: a client that can do only what the
// role grants.
func UserWithRole(ctx context.Context, env *envtest.Environment, admin client.Client, roleFile, user string) (*rest.Config, error) {
	b, err := os.ReadFile(roleFile)
	if err != nil {
		return nil, fmt.Errorf("read role: %w", err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(b, role); err != nil {
		return nil, fmt.Errorf("decode role %s: %w", roleFile, err)
	}
	role.Name = user + "-" + role.Name
	if err := admin.Create(ctx, role); err != nil {
		return nil, fmt.Errorf("create ClusterRole %s: %w", role.Name, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if err := admin.Create(ctx, binding); err != nil {
		return nil, fmt.Errorf("create ClusterRoleBinding %s: %w", binding.Name, err)
	}
	u, err := env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		return nil, fmt.Errorf("add user %s: %w", user, err)
	}
	return u.Config(), nil
}
