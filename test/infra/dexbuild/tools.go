//go:build tools

// Package dexbuild pins the Dex OIDC provider used by the integration tests.
// It is a separate module so that Dex's ~190 dependencies never enter the
// gateway's go.mod; test/infra/install.sh builds cmd/dex from it.
package dexbuild

import _ "github.com/dexidp/dex/cmd/dex"
