/* Test scaffolding for Wine 8 only, never shipped: Wine 8.0 has no coremessaging.dll, which
 * windows-capture imports (a dispatcher queue for Windows.Graphics.Capture's frame events). Wine
 * has no Windows.Graphics.Capture either, so the stand-in only lets the program load; a capture
 * attempt then fails before any dispatcher queue is needed, with classrec's "unavailable" error. */
#include <windows.h>

/* DispatcherQueueOptions is 12 bytes, so the x64 ABI passes it by reference. */
__declspec(dllexport) HRESULT WINAPI CreateDispatcherQueueController(const void *options, void **controller) {
  (void)options;
  if (controller) *controller = NULL;
  return E_NOTIMPL;
}
