package miniprogram_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

// The platform registers its domains with its own token, then pushes them to an app; another app
// uses the direct route. get_effective_* tell the origins apart.
func TestEmulatorDomains(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	comp := e.p.Component()
	mp := e.mini(shopApp)

	_, err := mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd, RequestDomain: []string{"https://api.dinehub.example"}})
	assert.Equal(t, wxerr.CodeDomainNoChange, wxerr.CodeOf(err), "nothing registered on the platform yet")

	d, err := comp.ModifyServerDomain(ctx, component.PlatformDomainRequest{Action: component.DomainAdd,
		Domains: []string{"api.dinehub.example", "img.dinehub.example"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"api.dinehub.example", "img.dinehub.example"}, d.Testing)
	assert.Empty(t, d.Published, "published only with PublishedToo")
	d, err = comp.ModifyServerDomain(ctx, component.PlatformDomainRequest{Action: component.DomainSet,
		Domains: []string{"api.dinehub.example"}, PublishedToo: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"api.dinehub.example"}, d.Published)

	got, err := mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd, RequestDomain: []string{"https://api.dinehub.example"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://api.dinehub.example"}, got.RequestDomain)
	_, err = mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd, RequestDomain: []string{"https://img.dinehub.example"}})
	assert.Equal(t, wxerr.CodeDomainNotRegistered, wxerr.CodeOf(err), "deleted from the platform by the set")

	file, err := comp.DomainConfirmFile(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, file.FileContent)
	j, err := comp.ModifyJumpDomain(ctx, component.PlatformDomainRequest{Action: component.DomainAdd, Domains: []string{"h5.dinehub.example"}, PublishedToo: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"h5.dinehub.example"}, j.Published)
	_, err = mp.SetWebviewDomain(ctx, miniprogram.DomainAdd, []string{"https://h5.dinehub.example"})
	require.NoError(t, err)

	// The direct route: no platform registration, its own lists.
	direct, err := mp.ModifyDomainDirectly(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd,
		RequestDomain: []string{"https://api.noodle.example"}, TCPDomain: []string{"tcp://tcp.noodle.example"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://api.noodle.example"}, direct.RequestDomain)
	eff, err := mp.EffectiveDomain(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://api.dinehub.example"}, eff.Third.RequestDomain)
	assert.Equal(t, []string{"https://api.noodle.example"}, eff.Direct.RequestDomain)
	assert.Equal(t, []string{"https://api.dinehub.example", "https://api.noodle.example"}, eff.Effective.RequestDomain)
	assert.Equal(t, []string{"tcp://tcp.noodle.example"}, eff.Effective.TCPDomain)
	assert.Empty(t, eff.MP.RequestDomain)

	_, err = mp.SetWebviewDomainDirectly(ctx, miniprogram.DomainAdd, []string{"https://h5.noodle.example"})
	assert.Equal(t, wxerr.CodeWebviewConfirmFailed, wxerr.CodeOf(err), "the confirm file first")
	cf, err := mp.WebviewDomainConfirmFile(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, file.FileName, cf.FileName, "the app's file is not the platform's")
	w, err := mp.SetWebviewDomainDirectly(ctx, miniprogram.DomainAdd, []string{"https://h5.noodle.example"})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://h5.noodle.example"}, w)
	ew, err := mp.EffectiveWebviewDomain(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://h5.dinehub.example", "https://h5.noodle.example"}, ew.Effective)
}
